import Foundation
import Synchronization

/// Runs blocking work (librdkafka calls, child processes, polling another process's state) on a
/// dedicated thread, keeping it off Swift's cooperative pool so tests can run in parallel.
/// Assertions belong in the async caller (`#expect` needs the test's task context), so bodies
/// return what they observed.
package func onThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread { continuation.resume(with: Result { try body() }) }.start()
    }
}

extension Duration {
    package var timeInterval: TimeInterval {
        let (seconds, attoseconds) = components
        return TimeInterval(seconds) + TimeInterval(attoseconds) / 1e18
    }
}

/// A harness step that could not be done (a wait that timed out, a child that exited early).
package struct HarnessError: Error, CustomStringConvertible {
    package let description: String
    package init(_ description: String) { self.description = description }
}

package struct TimedOut: Error, CustomStringConvertible {
    package let what: String
    package init(what: String) { self.what = what }
    package var description: String { "timed out waiting for \(what)" }
}

/// A value shared between a test and the callbacks or hooks it installs (which may run on other
/// threads); a class so escaping closures can capture it.
package final class Shared<Value: Sendable>: Sendable {
    private let storage: Mutex<Value>
    package init(_ value: Value) { storage = Mutex(value) }
    package var value: Value { storage.withLock { $0 } }
    package func update<T>(_ body: (inout Value) -> T) -> T { storage.withLock { body(&$0) } }
}

/// Events signalled by callbacks on other threads, awaited by a blocking test body with a bound.
package final class Events: Sendable {
    private let condition = NSCondition()
    private let seen = Mutex<[String]>([])
    package init() {}

    package func signal(_ event: String) {
        seen.withLock { $0.append(event) }
        condition.lock()
        condition.broadcast()
        condition.unlock()
    }

    /// Waits until an event satisfying `matches` was signalled (at any time before, too).
    /// Returns false when `timeout` passed first.
    package func wait(for timeout: Duration, until matches: @escaping (String) -> Bool) -> Bool {
        let deadline = Date(timeIntervalSinceNow: timeout.timeInterval)
        condition.lock()
        defer { condition.unlock() }
        while !seen.withLock({ $0.contains(where: matches) }) {
            guard condition.wait(until: deadline) else { return seen.withLock { $0.contains(where: matches) } }
        }
        return true
    }

    package func wait(for timeout: Duration, event: String) -> Bool { wait(for: timeout) { $0 == event } }
}
