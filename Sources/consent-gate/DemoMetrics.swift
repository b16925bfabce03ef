import CoreMetrics
import Synchronization

/// An in-memory swift-metrics backend for `demo`: the live table reads the same counters the
/// worker reports to Prometheus in production, so the demo shows the real instrumentation.
final class DemoMetrics: MetricsFactory, Sendable {
    private final class Value: CounterHandler, RecorderHandler, TimerHandler, FloatingPointCounterHandler, Sendable {
        let total = Atomic<Int64>(0)
        func increment(by amount: Int64) { total.add(amount, ordering: .relaxed) }
        func increment(by amount: Double) { total.add(Int64(amount), ordering: .relaxed) }
        func reset() { total.store(0, ordering: .relaxed) }
        func record(_ value: Int64) { total.store(value, ordering: .relaxed) }
        func record(_ value: Double) { total.store(Int64(value), ordering: .relaxed) }
        func recordNanoseconds(_ duration: Int64) {}
    }

    private struct Key: Hashable {
        let label: String
        let dimensions: [String]
    }

    private let values = Mutex<[Key: Value]>([:])

    private func value(_ label: String, _ dimensions: [(String, String)]) -> Value {
        let key = Key(label: label, dimensions: dimensions.flatMap { [$0.0, $0.1] })
        return values.withLock { values in
            if let existing = values[key] { return existing }
            let created = Value()
            values[key] = created
            return created
        }
    }

    /// The current value of a counter or gauge; 0 if it was never reported.
    func read(_ label: String, _ dimensions: [(String, String)] = []) -> Int64 {
        value(label, dimensions).total.load(ordering: .relaxed)
    }

    func makeCounter(label: String, dimensions: [(String, String)]) -> any CounterHandler { value(label, dimensions) }
    func makeFloatingPointCounter(label: String, dimensions: [(String, String)]) -> any FloatingPointCounterHandler {
        value(label, dimensions)
    }
    func makeRecorder(label: String, dimensions: [(String, String)], aggregate: Bool) -> any RecorderHandler {
        value(label, dimensions)
    }
    func makeTimer(label: String, dimensions: [(String, String)]) -> any TimerHandler { value(label, dimensions) }
    func destroyCounter(_ handler: any CounterHandler) {}
    func destroyFloatingPointCounter(_ handler: any FloatingPointCounterHandler) {}
    func destroyRecorder(_ handler: any RecorderHandler) {}
    func destroyTimer(_ handler: any TimerHandler) {}
}
