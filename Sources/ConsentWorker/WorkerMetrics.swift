import ConsentEngine
import Metrics

/// The worker's metric handles (names in docs/metrics.md), created once so the hot path only
/// adds to local tallies and flushes them per batch.
public struct WorkerMetrics: Sendable {
    public let consumed = Counter(label: "consent_gate_events_consumed_total")
    public let inFlight = Gauge(label: "consent_gate_inflight_outputs")
    /// Bytes of refused outputs held for another attempt.
    public let retryBytes = Gauge(label: "consent_gate_retry_queue_bytes")
    public let decideToAck = Timer(label: "consent_gate_decide_to_ack_seconds")
    public let commitsOK = Counter(label: "consent_gate_commits_total", dimensions: [("result", "ok")])
    public let commitsFailed = Counter(label: "consent_gate_commits_total", dimensions: [("result", "failed")])
    public let assignedPartitions = Gauge(label: "consent_gate_assigned_partitions")

    public init() {}

    public func rebalance(_ kind: String, count: Int = 1) {
        Counter(label: "consent_gate_rebalances_total", dimensions: [("kind", kind)]).increment(by: count)
    }

    public func produceFailure(topic: String, count: Int = 1) {
        Counter(label: "consent_gate_produce_failures_total", dimensions: [("topic", topic)]).increment(by: count)
    }

    public func consumerLag(topic: String, partition: Int32, lag: Int64) {
        Gauge(label: "consent_gate_consumer_lag", dimensions: [("topic", topic), ("partition", String(partition))])
            .record(lag)
    }
}

/// Per-destination routing counters for one policy: delivered, and dropped by reason, plus
/// dead letters by invalid reason.
public struct RoutingMetrics: Sendable {
    let delivered: [Counter]
    /// `dropped[destination][reason.rawValue]`.
    let dropped: [[Counter]]
    /// Indexed by `InvalidReason.rawValue`.
    let deadLettered: [Counter]
    /// `consent_gate_invalid_signals_total{signal}`, indexed by `SignalKind.rawValue`.
    let invalidSignals = SignalKind.allCases.map {
        Counter(label: "consent_gate_invalid_signals_total", dimensions: [("signal", $0.code)])
    }

    public init(destinations: [Destination]) {
        delivered = destinations.map { Counter(label: "consent_gate_events_delivered_total", dimensions: [("destination", $0.id)]) }
        dropped = destinations.map { destination in
            DropReason.allCases.map { reason in
                Counter(
                    label: "consent_gate_events_dropped_total",
                    dimensions: [("destination", destination.id), ("reason", reason.code)])
            }
        }
        // Raw values are the case order, so `rawValue` indexes this array.
        deadLettered = InvalidReason.allCases.map {
            Counter(label: "consent_gate_events_dead_lettered_total", dimensions: [("reason", $0.code)])
        }
    }
}

/// A lane's counts for one batch, added to the shared counters once per batch.
struct RoutingTally {
    var consumed = 0
    var delivered: [Int]
    var dropped: [[Int]]
    var deadLettered: [Int]
    var invalidSignals = Array(repeating: 0, count: SignalKind.allCases.count)

    init(destinationCount: Int) {
        delivered = Array(repeating: 0, count: destinationCount)
        dropped = Array(repeating: Array(repeating: 0, count: DropReason.allCases.count), count: destinationCount)
        deadLettered = Array(repeating: 0, count: InvalidReason.allCases.count)
    }

    mutating func flush(into metrics: RoutingMetrics, consumed counter: Counter) {
        if consumed > 0 { counter.increment(by: consumed); consumed = 0 }
        for index in delivered.indices where delivered[index] > 0 {
            metrics.delivered[index].increment(by: delivered[index])
            delivered[index] = 0
        }
        for index in dropped.indices {
            for reason in dropped[index].indices where dropped[index][reason] > 0 {
                metrics.dropped[index][reason].increment(by: dropped[index][reason])
                dropped[index][reason] = 0
            }
        }
        for index in deadLettered.indices where deadLettered[index] > 0 {
            metrics.deadLettered[index].increment(by: deadLettered[index])
            deadLettered[index] = 0
        }
        for index in invalidSignals.indices where invalidSignals[index] > 0 {
            metrics.invalidSignals[index].increment(by: invalidSignals[index])
            invalidSignals[index] = 0
        }
    }
}

extension RoutingTally {
    mutating func count(_ signals: InvalidSignals) {
        guard !signals.isEmpty else { return }
        for kind in SignalKind.allCases where signals.contains(kind) { invalidSignals[Int(kind.rawValue)] += 1 }
    }
}
