import Foundation

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
