import ConsentEngine
import Kafka
import Logging

/// What every lane shares while routing one batch.
struct BatchContext: @unchecked Sendable {
    // `@unchecked`: `MessageBatch` is read-only after construction and the rest is Sendable.
    let batch: MessageBatch
    let policy: RoutingState.ActivePolicy
    let outputs: OutputTopics
    let suppressions: Suppressions
    let subscriptions: SharedSubscriptions
    let producer: KafkaProducer
    let delivery: DeliveryLoop
    let ingestTopic: String
}

/// Producer topic handles for one policy version, index-aligned with its destinations.
struct OutputTopics: Sendable {
    let version: Int
    let destinations: [KafkaProducer.Topic]
    let deadLetter: KafkaProducer.Topic
    let subscriptions: KafkaProducer.Topic
    let audit: KafkaProducer.Topic?
}

/// One message to route: its index in the batch and its partition's state.
struct LaneItem {
    let index: Int
    let partition: PartitionState
}

/// Decides and produces the messages of the partitions assigned to it, in offset order.
/// Each lane owns a `Decider` (its scratch buffers) and is used by one thread at a time.
final class RoutingLane: @unchecked Sendable {
    private var decider: Decider
    private var policyVersion: Int
    private var tally: RoutingTally
    private var metrics: RoutingMetrics
    private let workerMetrics: WorkerMetrics
    private let logger: Logger
    /// This batch's messages, filled by the consumer thread before the lane runs.
    var items: [LaneItem] = []
    /// Reused buffer for audit record values.
    private var auditValue: [UInt8] = []

    init(policy: RoutingState.ActivePolicy, workerMetrics: WorkerMetrics, logger: Logger) {
        decider = Decider(policy: policy.compiled)
        policyVersion = policy.version
        tally = RoutingTally(destinationCount: policy.compiled.destinations.count)
        metrics = RoutingMetrics(destinations: policy.compiled.destinations)
        self.workerMetrics = workerMetrics
        self.logger = logger
    }

    /// Routes `items` of the batch, then adds the counts to the shared metrics.
    func route(_ context: BatchContext) {
        if context.policy.version != policyVersion { adopt(context.policy) }
        let now = monotonicNanoseconds()
        for item in items {
            route(context.batch[item.index], item.partition, context, now: now)
        }
        tally.consumed += items.count
        tally.flush(into: metrics, consumed: workerMetrics.consumed)
        items.removeAll(keepingCapacity: true)
    }

    private func adopt(_ policy: RoutingState.ActivePolicy) {
        tally.flush(into: metrics, consumed: workerMetrics.consumed)
        decider = Decider(policy: policy.compiled)
        policyVersion = policy.version
        tally = RoutingTally(destinationCount: policy.compiled.destinations.count)
        metrics = RoutingMetrics(destinations: policy.compiled.destinations)
    }

    private func route(_ message: KafkaMessage, _ partition: PartitionState, _ context: BatchContext, now: UInt64) {
        let value = message.value ?? UnsafeRawBufferPointer(start: nil, count: 0)
        switch decider.decide(value, suppressions: context.suppressions, subscriptions: context.subscriptions) {
        case .invalid(let reason):
            tally.deadLettered[Int(reason.rawValue)] += 1
            let sequence = partition.progress.withLock { $0.admit(offset: message.offset, outputs: 1, admittedAt: now) }
            context.delivery.inFlight.add(1, ordering: .relaxed)
            let headers = deadLetterHeaders(for: message, reason: reason, ingestTopic: context.ingestTopic)
            send(message, to: context.outputs.deadLetter, headers: headers.view, token: partition.token(for: sequence), context)

        case .suppressedInvalid:
            // Not dead-lettered (the DLQ is kept for replay and would keep a forgotten person's
            // data) and not audited; counted as suppressed like the subject's valid events.
            for destination in 0..<context.policy.compiled.destinations.count {
                tally.dropped[destination][Int(DropReason.suppressed.rawValue)] += 1
            }
            _ = partition.progress.withLock { $0.admit(offset: message.offset, outputs: 0, admittedAt: now) }

        case .routed(let decision):
            tally.count(decision.invalidSignals)
            let updates = decision.subscriptionUpdates
            if !updates.isEmpty {
                // Later events see the change at once; other replicas through the topic.
                context.subscriptions.apply(updates)
            }
            let deliver = decision.deliver
            // No audit record for a suppressed subject: it would be an activity log of that person.
            let audit = decision.suppressed.isEmpty ? context.outputs.audit : nil
            let audited = audit == nil ? 0 : context.policy.compiled.destinations.count - deliver.count
            let outputs = deliver.count + updates.count + audited
            let sequence = partition.progress.withLock {
                $0.admit(offset: message.offset, outputs: outputs, admittedAt: now)
            }
            if outputs > 0 {
                context.delivery.inFlight.add(outputs, ordering: .relaxed)
            }
            let token = partition.token(for: sequence)
            for update in updates {
                publish(SubscriptionRecord(update: update, sourceOffset: message.offset), partition: message.partition, token: token, context)
            }
            if !deliver.isEmpty {
                let headers = message.headers
                for destination in deliver {
                    tally.delivered[destination] += 1
                    send(message, to: context.outputs.destinations[destination], headers: headers, token: token, context)
                }
            }
            if deliver.count != context.policy.compiled.destinations.count {
                for reason in DropReason.allCases {
                    for destination in decision.dropped(for: reason) {
                        tally.dropped[destination][Int(reason.rawValue)] += 1
                        if let audit {
                            writeAudit(decision, destination: destination, reason: reason, message: message, to: audit, token: token, context)
                        }
                    }
                }
            }
        }
    }

    /// One compact audit record, keyed like the event: `{"messageId":…,"destination":…,
    /// "reason":…,"notGranted":[…],"source":"topic/partition/offset"}`. An output of the event
    /// like any other, so the audit trail is as complete as the deliveries.
    private func writeAudit(
        _ decision: Decision, destination: Int, reason: DropReason, message: KafkaMessage, to topic: KafkaProducer.Topic,
        token: UInt, _ context: BatchContext
    ) {
        let policy = context.policy.compiled
        auditValue.removeAll(keepingCapacity: true)
        auditValue.append(contentsOf: #"{"messageId":"#.utf8)
        if let messageId = decider.lastEvent.messageId?.bytes {
            appendJSONString(messageId, to: &auditValue)
        } else {
            auditValue.append(contentsOf: "null".utf8)
        }
        auditValue.append(contentsOf: #","destination":"#.utf8)
        Array(policy.destinations[destination].id.utf8).withUnsafeBytes { appendJSONString($0, to: &auditValue) }
        auditValue.append(contentsOf: #","reason":""#.utf8)
        auditValue.append(contentsOf: reason.code.utf8)
        auditValue.append(contentsOf: #"","notGranted":["#.utf8)
        for (index, name) in decider.notGranted(destination: destination, reason: reason, in: decision).enumerated() {
            if index > 0 { auditValue.append(UInt8(ascii: ",")) }
            Array(name.utf8).withUnsafeBytes { appendJSONString($0, to: &auditValue) }
        }
        auditValue.append(contentsOf: #"],"source":""#.utf8)
        auditValue.append(contentsOf: "\(context.ingestTopic)/\(message.partition)/\(message.offset)\"}".utf8)
        let value = auditValue
        value.withUnsafeBytes { value in
            do {
                try context.producer.send(to: topic, key: message.key, value: value, opaque: token)
            } catch {
                context.delivery.retry(
                    OutputRetry(topic: topic.name, key: message.key.map(Array.init), value: Array(value), headers: nil, opaque: token, now: .now),
                    after: error)
            }
        }
    }

    /// Publishes a subscription change to the changelog partition of its ingest partition, as
    /// one of the event's outputs: the event's offset is committed only once every replica can
    /// read the change.
    private func publish(_ record: SubscriptionRecord, partition: Int32, token: UInt, _ context: BatchContext) {
        let key = record.key
        let value = record.value
        do {
            try key.withUnsafeBytes { key in
                try value.withUnsafeBytes { value in
                    try context.producer.send(
                        to: context.outputs.subscriptions, partition: partition, key: key, value: value, opaque: token)
                }
            }
        } catch {
            logger.error("cannot publish a subscription change; retrying with back-off", metadata: ["error": "\(error)"])
            context.delivery.retry(
                OutputRetry(
                    topic: context.outputs.subscriptions.name, partition: partition, key: key, value: value,
                    headers: nil, opaque: token, now: .now),
                after: error)
        }
    }

    /// Produces one output. librdkafka waits out a full queue inside `send`; anything else
    /// (e.g. a message larger than the topic allows) is handed to the retry loop, so the
    /// output stays pending and its partition's commits wait for it.
    private func send(
        _ message: KafkaMessage, to topic: KafkaProducer.Topic, headers: MessageHeaders?, token: UInt,
        _ context: BatchContext
    ) {
        do {
            try context.producer.send(to: topic, key: message.key, value: message.value, headers: headers, opaque: token)
        } catch {
            logger.error(
                "cannot produce an output; retrying with back-off",
                metadata: ["topic": "\(topic.name)", "offset": "\(message.offset)", "error": "\(error)"])
            context.delivery.retry(
                OutputRetry(
                    topic: topic.name, key: message.key.map(Array.init), value: message.value.map(Array.init),
                    headers: headers.map(KafkaHeaders.init(copying:)), opaque: token, now: .now),
                after: error)
        }
    }
}

/// Dead-letter headers: the original ones, then why and where the event came from, so an
/// operator can find and replay it.
func deadLetterHeaders(for message: KafkaMessage, reason: InvalidReason, ingestTopic: String) -> KafkaHeaders {
    var headers: [(name: String, value: [UInt8]?)] = message.headers.map { original in
        original.map { ($0.name, $0.value.map(Array.init)) }
    } ?? []
    headers.append(("consent-gate-reason", Array(reason.code.utf8)))
    headers.append(("consent-gate-source-topic", Array(ingestTopic.utf8)))
    headers.append(("consent-gate-source-partition", Array(String(message.partition).utf8)))
    headers.append(("consent-gate-source-offset", Array(String(message.offset).utf8)))
    return KafkaHeaders(headers)
}
