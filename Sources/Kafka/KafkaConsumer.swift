import CRdKafka
import Foundation
import Logging

/// A consumer-group member that reads in batches and commits only what the application stored.
///
/// Single owner: every method — and the rebalance and statistics handlers, which run inside
/// `consume`, `close` and other calls — runs on the thread that owns this object. librdkafka
/// 2.0.2's batch consume is unsafe when seek/pause/resume/rebalance run concurrently, so the
/// type is deliberately not `Sendable`. Consumed `MessageBatch`es, however, may be handed to
/// other threads.
public final class KafkaConsumer {
    /// A change of this member's partition assignment.
    public enum RebalanceEvent: Sendable, Hashable {
        /// Newly assigned partitions; the handler runs after they were assigned (so it may
        /// pause or query them).
        case assigned([TopicPartition])
        /// Partitions about to be taken away in an orderly rebalance or on `close`. The handler
        /// runs while they are still assigned: drain in-flight work, store and commit here.
        case revoked([TopicPartition])
        /// Partitions already owned by someone else (e.g. session timed out); committing them
        /// would fail or clobber the new owner's progress, so only drop local state.
        case lost([TopicPartition])
    }

    /// Called synchronously on the owner thread; may call `storeOffsets`, `commit`, `pause` etc.
    public typealias RebalanceHandler = (KafkaConsumer, RebalanceEvent) -> Void
    /// Called on the owner thread every `statistics.interval.ms` (set that property to enable).
    public typealias StatisticsHandler = (KafkaStatistics) -> Void

    /// Handlers reachable from librdkafka's C callbacks. `@unchecked Sendable`: besides the
    /// logger, fields are set before any callback can run and used only on the owner thread.
    private final class ConsumerContext: ClientContext, @unchecked Sendable {
        let rebalanceHandler: RebalanceHandler?
        let statisticsHandler: StatisticsHandler?
        unowned(unsafe) var consumer: KafkaConsumer?

        init(logger: Logger, rebalanceHandler: RebalanceHandler?, statisticsHandler: StatisticsHandler?) {
            self.rebalanceHandler = rebalanceHandler
            self.statisticsHandler = statisticsHandler
            super.init(logger: logger)
        }
    }

    private let rk: OpaquePointer
    private let queue: OpaquePointer
    private let context: ConsumerContext
    private var closed = false

    /// - Parameters:
    ///   - groupID: the consumer group (`group.id`).
    ///   - properties: librdkafka properties (e.g. `bootstrap.servers`,
    ///     `partition.assignment.strategy`, `statistics.interval.ms`), applied over
    ///     `KafkaProperties.consumerDefaults`.
    public init(
        groupID: String, properties: KafkaProperties, logger: Logger = Logger(label: "kafka.consumer"),
        rebalanceHandler: RebalanceHandler? = nil, statisticsHandler: StatisticsHandler? = nil
    ) throws(KafkaConfigurationError) {
        var all = KafkaProperties.consumerDefaults.merging(properties)
        all["group.id"] = groupID
        context = ConsumerContext(logger: logger, rebalanceHandler: rebalanceHandler, statisticsHandler: statisticsHandler)
        rk = try context.makeClient(RD_KAFKA_CONSUMER, properties: all) { conf in
            ClientContext.setLoggingErrorCallback(conf)
            rd_kafka_conf_set_rebalance_cb(conf) { rk, err, partitions, _ in
                KafkaConsumer.rebalance(rk!, err, partitions)
            }
            rd_kafka_conf_set_offset_commit_cb(conf) { rk, err, offsets, _ in
                // Results of commits; librdkafka reports sync commits here too (their caller also
                // gets the error), so this is where failed `commitAsync` calls become visible.
                guard err != RD_KAFKA_RESP_ERR_NO_ERROR, err != RD_KAFKA_RESP_ERR__NO_OFFSET else {
                    if let offsets, let error = PartitionList.firstError(in: offsets, "commit") {
                        ClientContext.from(rk).logger.warning("offset commit failed: \(error)")
                    }
                    return
                }
                ClientContext.from(rk).logger.warning("offset commit failed: \(KafkaError(err, "commit"))")
            }
            if statisticsHandler != nil {
                rd_kafka_conf_set_stats_cb(conf) { rk, json, length, _ in
                    let context = ClientContext.from(rk) as! ConsumerContext
                    do {
                        let statistics = try KafkaStatistics.parse(Data(bytes: json!, count: length))
                        context.statisticsHandler?(statistics)
                    } catch {
                        context.logger.warning("unreadable Kafka statistics: \(error)")
                    }
                    return 0  // librdkafka frees the JSON
                }
            }
        }
        // Rebalances, statistics and errors arrive on the consumer queue, so they are served
        // by `consume` on the owner thread.
        rd_kafka_poll_set_consumer(rk)
        queue = rd_kafka_queue_get_consumer(rk)
        context.consumer = self
    }

    /// The properties this client was created with, defaults included (`rd_kafka_conf_dump`);
    /// empty after `close`.
    public var effectiveConfiguration: [String: String] { closed ? [:] : Kafka.effectiveConfiguration(of: rk) }

    deinit { close() }

    public func subscribe(topics: [String]) throws(KafkaError) {
        let rk = try client("subscribe")
        let list = PartitionList(topics.map { TopicPartition(topic: $0, partition: RD_KAFKA_PARTITION_UA) })
        let err = rd_kafka_subscribe(rk, list.pointer)
        if err != RD_KAFKA_RESP_ERR_NO_ERROR { throw KafkaError(err, "subscribe to \(topics)") }
    }

    /// Reads these partitions from these offsets without joining a group (e.g. a replica
    /// reading a whole compacted state topic). Replaces any previous manual assignment.
    public func assign(_ offsets: [TopicPartitionOffset]) throws(KafkaError) {
        let rk = try client("assign")
        let list = PartitionList(offsets)
        let err = rd_kafka_assign(rk, list.pointer)
        if err != RD_KAFKA_RESP_ERR_NO_ERROR { throw KafkaError(err, "assign \(offsets)") }
    }

    /// Adds these partitions, from these offsets, to the current manual assignment; the
    /// partitions already assigned keep their positions and prefetched messages.
    public func incrementalAssign(_ offsets: [TopicPartitionOffset]) throws(KafkaError) {
        let rk = try client("incremental assign")
        let list = PartitionList(offsets)
        if let error = rd_kafka_incremental_assign(rk, list.pointer) {
            throw KafkaError(consuming: error, "incremental assign \(offsets)")
        }
    }

    /// Up to `maxMessages` messages, waiting at most `timeout` for the first. Also serves
    /// rebalances and statistics (their handlers run inside this call). Partition-EOF events are
    /// dropped; other consumer errors appear as messages whose `error` is set.
    public func consume(maxMessages: Int, timeout: Duration) throws(KafkaError) -> MessageBatch {
        _ = try client("consume")
        let buffer = UnsafeMutablePointer<UnsafeMutablePointer<rd_kafka_message_t>?>.allocate(capacity: maxMessages)
        let n = rd_kafka_consume_batch_queue(queue, timeout.kafkaMilliseconds, buffer, maxMessages)
        guard n >= 0 else {
            buffer.deallocate()
            throw KafkaError(rd_kafka_last_error(), "consume")
        }
        var kept = 0
        for i in 0..<n {
            let message = buffer[i]!
            if message.pointee.err == RD_KAFKA_RESP_ERR__PARTITION_EOF {
                rd_kafka_message_destroy(message)
                continue
            }
            if message.pointee.err == RD_KAFKA_RESP_ERR_NO_ERROR {
                var headers: OpaquePointer?
                _ = rd_kafka_message_headers(message, &headers)  // parse now: see MessageBatch
            }
            buffer[kept] = message
            kept += 1
        }
        return MessageBatch(adopting: buffer, count: kept)
    }

    /// Stores offsets for the next commit. Each offset is the *next* message to consume:
    /// the last fully processed message's offset + 1. Only assigned partitions can be stored.
    public func storeOffsets(_ offsets: [TopicPartitionOffset]) throws(KafkaError) {
        let rk = try client("store offsets")
        let list = PartitionList(offsets)
        let err = rd_kafka_offsets_store(rk, list.pointer)
        if let error = PartitionList.firstError(in: list.pointer, "store offset") { throw error }
        if err != RD_KAFKA_RESP_ERR_NO_ERROR { throw KafkaError(err, "store offsets") }
    }

    /// Commits the stored offsets and waits for the broker's answer. Nothing stored is not an error.
    public func commit() throws(KafkaError) {
        let rk = try client("commit")
        try checkCommit(rd_kafka_commit(rk, nil, 0), nil)
    }

    /// Commits exactly these offsets (next offset to consume) and waits.
    public func commit(_ offsets: [TopicPartitionOffset]) throws(KafkaError) {
        let rk = try client("commit")
        let list = PartitionList(offsets)
        try checkCommit(rd_kafka_commit(rk, list.pointer, 0), list)
    }

    /// Starts committing the stored offsets; failures are logged when served by a later call.
    public func commitAsync() throws(KafkaError) {
        let rk = try client("commit")
        try checkCommit(rd_kafka_commit(rk, nil, 1), nil)
    }

    /// Starts committing exactly these offsets; failures are logged when served by a later call.
    public func commitAsync(_ offsets: [TopicPartitionOffset]) throws(KafkaError) {
        let rk = try client("commit")
        let list = PartitionList(offsets)
        try checkCommit(rd_kafka_commit(rk, list.pointer, 1), list)
    }

    private func checkCommit(_ err: rd_kafka_resp_err_t, _ list: PartitionList?) throws(KafkaError) {
        if err == RD_KAFKA_RESP_ERR__NO_OFFSET { return }
        if err != RD_KAFKA_RESP_ERR_NO_ERROR { throw KafkaError(err, "commit") }
        if let list, let error = PartitionList.firstError(in: list.pointer, "commit") { throw error }
    }

    /// The group's committed offsets for these partitions, from the broker
    /// (`TopicPartitionOffset.invalid` where nothing was committed).
    public func committed(_ partitions: [TopicPartition], timeout: Duration) throws(KafkaError) -> [TopicPartitionOffset] {
        let rk = try client("fetch committed offsets")
        let list = PartitionList(partitions)
        let err = rd_kafka_committed(rk, list.pointer, timeout.kafkaMilliseconds)
        if err != RD_KAFKA_RESP_ERR_NO_ERROR { throw KafkaError(err, "fetch committed offsets") }
        if let error = PartitionList.firstError(in: list.pointer, "fetch committed offset") { throw error }
        return PartitionList.offsets(of: list.pointer)
    }

    /// The next offset this consumer will fetch per partition (local state, no broker call).
    public func position(_ partitions: [TopicPartition]) throws(KafkaError) -> [TopicPartitionOffset] {
        let rk = try client("get position")
        let list = PartitionList(partitions)
        let err = rd_kafka_position(rk, list.pointer)
        if err != RD_KAFKA_RESP_ERR_NO_ERROR { throw KafkaError(err, "get position") }
        return PartitionList.offsets(of: list.pointer)
    }

    /// The partitions currently assigned to this member.
    public func assignment() throws(KafkaError) -> [TopicPartition] {
        let rk = try client("get assignment")
        var list: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?
        let err = rd_kafka_assignment(rk, &list)
        defer { if let list { rd_kafka_topic_partition_list_destroy(list) } }
        if err != RD_KAFKA_RESP_ERR_NO_ERROR { throw KafkaError(err, "get assignment") }
        return PartitionList.partitions(of: list)
    }

    /// Stops fetching these partitions (e.g. while a destination is backed up) without leaving
    /// the group; already fetched messages may still be returned.
    public func pause(_ partitions: [TopicPartition]) throws(KafkaError) {
        let rk = try client("pause")
        let list = PartitionList(partitions)
        let err = rd_kafka_pause_partitions(rk, list.pointer)
        if err != RD_KAFKA_RESP_ERR_NO_ERROR { throw KafkaError(err, "pause") }
        if let error = PartitionList.firstError(in: list.pointer, "pause") { throw error }
    }

    public func resume(_ partitions: [TopicPartition]) throws(KafkaError) {
        let rk = try client("resume")
        let list = PartitionList(partitions)
        let err = rd_kafka_resume_partitions(rk, list.pointer)
        if err != RD_KAFKA_RESP_ERR_NO_ERROR { throw KafkaError(err, "resume") }
        if let error = PartitionList.firstError(in: list.pointer, "resume") { throw error }
    }

    /// Leaves the group — the rebalance handler gets a final `.revoked` for the current
    /// assignment, where it can commit — then destroys the client. Idempotent.
    public func close() {
        guard !closed else { return }
        let err = rd_kafka_consumer_close(rk)  // the revoke handler may still use the consumer
        closed = true
        if err != RD_KAFKA_RESP_ERR_NO_ERROR { context.logger.warning("consumer close: \(KafkaError(err, "close"))") }
        rd_kafka_queue_destroy(queue)
        rd_kafka_destroy(rk)
    }

    /// The client handle, or a typed error after `close` (a destroyed handle would crash).
    private func client(_ operation: String) throws(KafkaError) -> OpaquePointer {
        guard !closed else { throw KafkaError(code: .state, message: "consumer is closed", operation: operation) }
        return rk
    }

    /// Our rebalance callback: tells the handler *before* giving partitions up (and after taking
    /// new ones), for both the eager and the cooperative protocol.
    private static func rebalance(
        _ rk: OpaquePointer, _ err: rd_kafka_resp_err_t,
        _ partitions: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?
    ) {
        let context = ClientContext.from(rk) as! ConsumerContext
        let cooperative = rd_kafka_rebalance_protocol(rk).map { String(cString: $0) } == "COOPERATIVE"
        let list = PartitionList.partitions(of: partitions)
        let notify = { (event: RebalanceEvent) in
            if let consumer = context.consumer, let handler = context.rebalanceHandler { handler(consumer, event) }
        }
        switch err {
        case RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS:
            context.logger.info("partitions assigned: \(list)")
            if cooperative {
                logAssignError(context, rd_kafka_incremental_assign(rk, partitions).map { KafkaError(consuming: $0, "incremental assign") })
            } else {
                logAssignError(context, assign(rk, partitions))
            }
            notify(.assigned(list))
        case RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS:
            let lost = rd_kafka_assignment_lost(rk) != 0
            context.logger.info("partitions \(lost ? "lost" : "revoked"): \(list)")
            notify(lost ? .lost(list) : .revoked(list))
            if cooperative {
                logAssignError(context, rd_kafka_incremental_unassign(rk, partitions).map { KafkaError(consuming: $0, "incremental unassign") })
            } else {
                logAssignError(context, assign(rk, nil))
            }
        default:
            context.logger.error("rebalance failed: \(KafkaError(err, "rebalance")); dropping assignment")
            notify(.lost(list))
            logAssignError(context, assign(rk, nil))
        }
    }

    private static func assign(_ rk: OpaquePointer, _ partitions: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?) -> KafkaError? {
        let err = rd_kafka_assign(rk, partitions)
        return err == RD_KAFKA_RESP_ERR_NO_ERROR ? nil : KafkaError(err, partitions == nil ? "unassign" : "assign")
    }

    private static func logAssignError(_ context: ClientContext, _ error: KafkaError?) {
        if let error { context.logger.error("rebalance: \(error)") }
    }
}
