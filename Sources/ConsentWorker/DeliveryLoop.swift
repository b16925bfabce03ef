import Foundation
import Kafka
import Logging
import Metrics
import Synchronization

/// Serves the producer's delivery reports on its own thread: acknowledges outputs in their
/// partition's watermark, and produces refused outputs again with back-off.
final class DeliveryLoop: @unchecked Sendable {
    private let producer: KafkaProducer
    private let registry: PartitionRegistry
    private let metrics: WorkerMetrics
    private let logger: Logger
    /// The subscription changelog, whose records must be retried in their own partition.
    private let changelogTopic: String
    /// Outputs sent and not yet acknowledged, across all partitions.
    let inFlight = Atomic<Int>(0)
    /// Outputs waiting for their next attempt. Lanes add outputs that could not be enqueued.
    private let retries = Mutex<[OutputRetry]>([])
    /// Bytes of the copies in `retries` and `due`. Over `WorkerSettings.maxRetryBytes` the
    /// pipeline stops fetching, so refused outputs cannot pile up in memory without bound
    /// (issue 9, defect 7).
    let retryBytes = Atomic<Int>(0)
    /// A fatal producer error (e.g. lost idempotence state): no retry can succeed, so the
    /// worker stops, committing only what was acknowledged, and the orchestrator restarts it.
    private let fatal = Mutex<KafkaError?>(nil)
    /// Broadcast after every round of reports, for threads waiting on acknowledgements.
    private let progress = NSCondition()
    private let stopRequested = Atomic<Bool>(false)
    private let finished = DispatchSemaphore(value: 0)
    /// Only touched by the loop thread: retries taken out of `retries`, by due time.
    private var due: [OutputRetry] = []
    /// Only touched by the loop thread: failures so far per refused output (by token), so
    /// back-off grows for an output the broker keeps refusing.
    private var refusals: [UInt: Int] = [:]

    init(producer: KafkaProducer, registry: PartitionRegistry, changelogTopic: String, metrics: WorkerMetrics, logger: Logger) {
        self.producer = producer
        self.changelogTopic = changelogTopic
        self.registry = registry
        self.metrics = metrics
        self.logger = logger
    }

    func start() {
        let thread = Thread { [self] in
            run()
            finished.signal()
        }
        thread.name = "consent-gate.delivery"
        thread.start()
    }

    /// Stops the loop after its current round and waits for it to end.
    func stop() {
        stopRequested.store(true, ordering: .releasing)
        finished.wait()
    }

    /// Queues an output for another attempt (a send that failed outright, or a refused one).
    func retry(_ output: OutputRetry, after error: any Error) {
        if let error = error as? KafkaError, error.isFatal { fatal.withLock { $0 = $0 ?? error } }
        retryBytes.add(output.bytes, ordering: .relaxed)
        retries.withLock { $0.append(output) }
    }

    /// The fatal producer error seen, if any.
    var fatalError: KafkaError? { fatal.withLock { $0 } }

    /// Blocks until `condition` holds or `deadline` passes; re-checked after every round of
    /// delivery reports. Returns whether the condition held.
    @discardableResult
    func wait(until deadline: ContinuousClock.Instant, for condition: () -> Bool) -> Bool {
        progress.lock()
        defer { progress.unlock() }
        while !condition() {
            let remaining = deadline - .now
            guard remaining > .zero else { return false }
            _ = progress.wait(until: Date(timeIntervalSinceNow: min(remaining, .milliseconds(100)).seconds))
        }
        return true
    }

    private func run() {
        var lastStatus = ContinuousClock.now
        while !stopRequested.load(ordering: .acquiring) {
            producer.pollDeliveryReports(maxEvents: 64, timeout: .milliseconds(20)) { report in
                if let error = report.error {
                    refused(report, error)
                } else {
                    acknowledge(report.opaque)
                }
            }
            sendDueRetries()
            progress.lock()
            progress.broadcast()
            progress.unlock()
            if ContinuousClock.now - lastStatus >= .seconds(1) {
                metrics.inFlight.record(inFlight.load(ordering: .relaxed))
                metrics.retryBytes.record(retryBytes.load(ordering: .relaxed))
                lastStatus = .now
            }
        }
    }

    private func acknowledge(_ token: UInt) {
        inFlight.subtract(1, ordering: .relaxed)
        if !refusals.isEmpty { refusals[token] = nil }
        guard let state = registry.state(slot: DeliveryToken.slot(of: token)) else { return }
        let admittedAt = state.progress.withLock { $0.acknowledge(DeliveryToken.sequence(of: token)) }
        if let admittedAt, admittedAt > 0 {
            metrics.decideToAck.recordNanoseconds(Int64(monotonicNanoseconds() &- admittedAt))
        }
    }

    private func refused(_ report: DeliveryReport, _ error: KafkaError) {
        metrics.produceFailure(topic: report.topic)
        let attempts = refusals[report.opaque, default: 0] + 1
        refusals[report.opaque] = attempts
        // A changelog record belongs to its source partition, which the token names.
        let partition = report.topic == changelogTopic
            ? registry.state(slot: DeliveryToken.slot(of: report.opaque))?.topicPartition.partition ?? (report.partition >= 0 ? report.partition : nil)
            : nil
        guard let retry = OutputRetry(failed: report, partition: partition, attempts: attempts, now: .now) else { return }
        // Log the first failures and then every power of two, so a long outage stays readable.
        if attempts & (attempts - 1) == 0 {
            logger.warning(
                "broker refused an output; producing it again after back-off",
                metadata: ["topic": "\(report.topic)", "error": "\(error)", "attempt": "\(attempts)"])
        }
        retryBytes.add(retry.bytes, ordering: .relaxed)
        due.append(retry)
    }

    private func sendDueRetries() {
        let now = ContinuousClock.now
        due.append(contentsOf: retries.withLock { pending in
            defer { pending.removeAll() }
            return pending
        })
        guard !due.isEmpty else { return }
        var waiting: [OutputRetry] = []
        for var output in due {
            guard output.due <= now else {
                waiting.append(output)
                continue
            }
            do {
                try output.send(with: producer)
                // librdkafka holds its own copy now.
                retryBytes.subtract(output.bytes, ordering: .relaxed)
            } catch {
                if error.isFatal { fatal.withLock { $0 = $0 ?? error } }
                output.backOff(now: now)
                if output.attempts & (output.attempts - 1) == 0 {
                    logger.error(
                        "cannot produce an output; retrying, commits of its partition wait for it",
                        metadata: ["topic": "\(output.topic)", "error": "\(error)", "attempt": "\(output.attempts)"])
                }
                waiting.append(output)
            }
        }
        due = waiting
    }
}

/// Nanoseconds on the monotonic clock, for latency measurements.
@inline(__always)
func monotonicNanoseconds() -> UInt64 {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return UInt64(now.tv_sec) &* 1_000_000_000 &+ UInt64(now.tv_nsec)
}

extension Duration {
    /// The duration in (fractional) seconds.
    var seconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}
