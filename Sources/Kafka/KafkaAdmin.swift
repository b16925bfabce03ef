import CRdKafka
import Logging

/// Cluster administration and lag queries: topic creation, watermarks, a group's committed
/// offsets. Every call blocks its thread for at most about its `timeout`; run it off Swift's
/// cooperative pool.
///
/// `@unchecked Sendable`: librdkafka client handles are thread-safe and this class has no
/// other state. The client is destroyed when the last reference goes.
public final class KafkaAdmin: @unchecked Sendable {
    public struct NewTopic: Sendable, Hashable {
        public var name: String
        public var partitions: Int
        /// -1 for the broker's default.
        public var replicationFactor: Int
        /// Topic configuration, e.g. `["retention.ms": "86400000"]`.
        public var config: [String: String]

        public init(name: String, partitions: Int, replicationFactor: Int = -1, config: [String: String] = [:]) {
            self.name = name
            self.partitions = partitions
            self.replicationFactor = replicationFactor
            self.config = config
        }
    }

    public struct PartitionWatermarks: Sendable, Hashable {
        public let partition: Int32
        /// Oldest retained offset.
        public let low: Int64
        /// Offset the next produced message will get.
        public let high: Int64
    }

    public struct PartitionLag: Sendable, Hashable {
        public let partition: Int32
        public let highWatermark: Int64
        /// Nil if the group never committed this partition.
        public let committed: Int64?
        /// Messages the group has yet to process: high watermark minus the committed offset,
        /// or minus the low watermark when nothing was committed (where `auto.offset.reset=earliest`
        /// starts).
        public let lag: Int64
    }

    private let rk: OpaquePointer
    private let context: ClientContext

    /// - Parameter properties: at least `bootstrap.servers`.
    public init(properties: KafkaProperties, logger: Logger = Logger(label: "kafka.admin")) throws(KafkaConfigurationError) {
        context = ClientContext(logger: logger)
        rk = try context.makeClient(RD_KAFKA_PRODUCER, properties: properties) { ClientContext.setLoggingErrorCallback($0) }
    }

    /// The properties this client was created with, defaults included (`rd_kafka_conf_dump`).
    public var effectiveConfiguration: [String: String] { Kafka.effectiveConfiguration(of: rk) }

    deinit { rd_kafka_destroy(rk) }

    /// Creates topics with the CreateTopics admin API (not supported by the mock cluster: use
    /// `MockCluster.createTopic` there). Throws the first per-topic error, e.g.
    /// `.topicAlreadyExists`.
    public func createTopics(_ topics: [NewTopic], timeout: Duration) throws(KafkaError) {
        var errstr = [CChar](repeating: 0, count: 512)
        var newTopics: [OpaquePointer?] = []
        defer { rd_kafka_NewTopic_destroy_array(&newTopics, newTopics.count) }
        for topic in topics {
            guard let newTopic = rd_kafka_NewTopic_new(topic.name, Int32(topic.partitions), Int32(topic.replicationFactor), &errstr, errstr.count)
            else {
                throw KafkaError(code: .invalidPartitions, message: string(fromCBuffer: errstr), operation: "create topic \"\(topic.name)\"")
            }
            newTopics.append(newTopic)
            for (name, value) in topic.config.sorted(by: { $0.key < $1.key }) {
                let err = rd_kafka_NewTopic_set_config(newTopic, name, value)
                if err != RD_KAFKA_RESP_ERR_NO_ERROR {
                    throw KafkaError(err, "create topic \"\(topic.name)\" (config \(name)=\(value))")
                }
            }
        }
        try withAdminResult(RD_KAFKA_ADMIN_OP_CREATETOPICS, "create topics", timeout: timeout, start: { options, queue in
            rd_kafka_CreateTopics(rk, &newTopics, newTopics.count, options, queue)
        }) { (event) throws(KafkaError) in
            var count = 0
            guard let results = rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(event), &count) else { return }
            for i in 0..<count {
                let result = results[i]
                let err = rd_kafka_topic_result_error(result)
                guard err == RD_KAFKA_RESP_ERR_NO_ERROR else {
                    let name = String(cString: rd_kafka_topic_result_name(result))
                    let message = rd_kafka_topic_result_error_string(result).map { String(cString: $0) }
                    throw KafkaError(err, "create topic \"\(name)\"", message: message)
                }
            }
        }
    }

    /// The topic's partition count, from cluster metadata.
    public func partitionCount(topic: String, timeout: Duration) throws(KafkaError) -> Int {
        let rkt = rd_kafka_topic_new(rk, topic, nil)
        defer { rd_kafka_topic_destroy(rkt) }
        var metadata: UnsafePointer<rd_kafka_metadata>?
        let err = rd_kafka_metadata(rk, 0, rkt, &metadata, timeout.kafkaMilliseconds)
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR, let metadata else {
            throw KafkaError(err, "fetch metadata of topic \"\(topic)\"")
        }
        defer { rd_kafka_metadata_destroy(metadata) }
        guard metadata.pointee.topic_cnt == 1 else {
            throw KafkaError(code: .unknownTopicOrPartition, operation: "fetch metadata of topic \"\(topic)\"")
        }
        let topicMetadata = metadata.pointee.topics[0]
        if topicMetadata.err != RD_KAFKA_RESP_ERR_NO_ERROR {
            throw KafkaError(topicMetadata.err, "fetch metadata of topic \"\(topic)\"")
        }
        return Int(topicMetadata.partition_cnt)
    }

    /// Low and high watermark of every partition of `topic`; `timeout` applies to each query.
    public func watermarks(topic: String, timeout: Duration) throws(KafkaError) -> [PartitionWatermarks] {
        let partitions = try partitionCount(topic: topic, timeout: timeout)
        return try (0..<Int32(partitions)).map { (partition) throws(KafkaError) in
            var low: Int64 = 0
            var high: Int64 = 0
            let err = rd_kafka_query_watermark_offsets(rk, topic, partition, &low, &high, timeout.kafkaMilliseconds)
            if err != RD_KAFKA_RESP_ERR_NO_ERROR { throw KafkaError(err, "query watermarks of \(topic)[\(partition)]") }
            return PartitionWatermarks(partition: partition, low: low, high: high)
        }
    }

    /// The offsets `group` committed for the partitions of `topic`, by partition (absent where
    /// nothing was committed). Uses the ListConsumerGroupOffsets admin API.
    public func committedOffsets(group: String, topic: String, timeout: Duration) throws(KafkaError) -> [Int32: Int64] {
        let partitions = try partitionCount(topic: topic, timeout: timeout)
        let list = PartitionList((0..<Int32(partitions)).map { TopicPartition(topic: topic, partition: $0) })
        var request: [OpaquePointer?] = [rd_kafka_ListConsumerGroupOffsets_new(group, list.pointer)]
        defer { rd_kafka_ListConsumerGroupOffsets_destroy_array(&request, 1) }
        var committed: [Int32: Int64] = [:]
        let operation = "list committed offsets of group \"\(group)\""
        try withAdminResult(RD_KAFKA_ADMIN_OP_LISTCONSUMERGROUPOFFSETS, operation, timeout: timeout, start: { options, queue in
            rd_kafka_ListConsumerGroupOffsets(rk, &request, 1, options, queue)
        }) { (event) throws(KafkaError) in
            var count = 0
            guard let groups = rd_kafka_ListConsumerGroupOffsets_result_groups(
                rd_kafka_event_ListConsumerGroupOffsets_result(event), &count), count > 0
            else { return }
            if let error = rd_kafka_group_result_error(groups[0]) {
                throw KafkaError(code: KafkaError.Code(rd_kafka_error_code(error)),
                                 message: String(cString: rd_kafka_error_string(error)), operation: operation)
            }
            guard let offsets = rd_kafka_group_result_partitions(groups[0]) else { return }
            if let error = PartitionList.firstError(in: offsets, operation) { throw error }
            for p in PartitionList.offsets(of: offsets) where p.offset >= 0 { committed[p.partition] = p.offset }
        }
        return committed
    }

    /// Per-partition lag of `group` on `topic`: high watermark − committed offset.
    public func lag(group: String, topic: String, timeout: Duration) throws(KafkaError) -> [PartitionLag] {
        let committed = try committedOffsets(group: group, topic: topic, timeout: timeout)
        return try watermarks(topic: topic, timeout: timeout).map { w in
            let position = committed[w.partition]
            return PartitionLag(
                partition: w.partition, highWatermark: w.high, committed: position,
                lag: max(0, w.high - (position ?? w.low)))
        }
    }

    /// Runs one admin request on a private queue and hands its result event to `handle`.
    private func withAdminResult(
        _ api: rd_kafka_admin_op_t, _ operation: String, timeout: Duration,
        start: (OpaquePointer, OpaquePointer) -> Void,
        handle: (OpaquePointer) throws(KafkaError) -> Void
    ) throws(KafkaError) {
        let options = rd_kafka_AdminOptions_new(rk, api)!
        defer { rd_kafka_AdminOptions_destroy(options) }
        var errstr = [CChar](repeating: 0, count: 512)
        _ = rd_kafka_AdminOptions_set_request_timeout(options, timeout.kafkaMilliseconds, &errstr, errstr.count)
        if api == RD_KAFKA_ADMIN_OP_CREATETOPICS {
            _ = rd_kafka_AdminOptions_set_operation_timeout(options, timeout.kafkaMilliseconds, &errstr, errstr.count)
        }
        let queue = rd_kafka_queue_new(rk)!
        defer { rd_kafka_queue_destroy(queue) }
        start(options, queue)
        // The request times out on its own after `timeout`; the margin lets that result arrive.
        guard let event = rd_kafka_queue_poll(queue, (timeout + .seconds(1)).kafkaMilliseconds) else {
            throw KafkaError(code: .timedOut, message: "no result within \(timeout)", operation: operation)
        }
        defer { rd_kafka_event_destroy(event) }
        let err = rd_kafka_event_error(event)
        if err != RD_KAFKA_RESP_ERR_NO_ERROR {
            throw KafkaError(err, operation, message: rd_kafka_event_error_string(event).map { String(cString: $0) })
        }
        try handle(event)
    }
}
