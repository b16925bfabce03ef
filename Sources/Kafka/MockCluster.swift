import CRdKafka
import Logging
import Synchronization

/// librdkafka's in-process mock Kafka cluster: real TCP listeners on localhost that any client,
/// in this process or another, can bootstrap from. For tests, demos and `dev-broker`.
///
/// Broker ids are 1...brokerCount. The mock does not support CreateTopics: create topics with
/// `createTopic` (unknown topics auto-create with 4 partitions). Each partition keeps only about
/// the last 5 MB.
///
/// `@unchecked Sendable`: the mock API is thread-safe (calls are forwarded to the mock's own
/// thread); `shutdown` is serialized by a mutex.
public final class MockCluster: @unchecked Sendable {
    public let brokerCount: Int
    /// Comma-separated `host:port` list for `bootstrap.servers`.
    public let bootstrapServers: String

    private let context: ClientContext
    /// The handle that owns the cluster, and the cluster; nil after `shutdown`.
    private let state: Mutex<(rk: OpaquePointer, cluster: OpaquePointer)?>

    public init(brokers: Int = 1, logger: Logger = Logger(label: "kafka.mock")) throws(KafkaError) {
        precondition(brokers > 0, "a mock cluster needs at least one broker")
        brokerCount = brokers
        context = ClientContext(logger: logger)
        let rk: OpaquePointer
        do {
            // The handle only hosts the cluster; warnings-only logging hides its notice that it
            // has no bootstrap servers of its own.
            rk = try context.makeClient(RD_KAFKA_PRODUCER, properties: ["log_level": "4"])
        } catch {
            throw KafkaError(code: .state, message: error.description, operation: "start mock cluster")
        }
        guard let cluster = rd_kafka_mock_cluster_new(rk, Int32(brokers)) else {
            rd_kafka_destroy(rk)
            throw KafkaError(code: .state, message: "rd_kafka_mock_cluster_new failed", operation: "start mock cluster")
        }
        bootstrapServers = String(cString: rd_kafka_mock_cluster_bootstraps(cluster))
        state = Mutex((rk, cluster))
    }

    deinit { shutdown() }

    /// Stops the brokers (connected clients see them go away). Idempotent.
    public func shutdown() {
        state.withLock { state in
            guard let (rk, cluster) = state else { return }
            rd_kafka_mock_cluster_destroy(cluster)
            rd_kafka_destroy(rk)
            state = nil
        }
    }

    public func createTopic(name: String, partitions: Int, replicationFactor: Int = 1) throws(KafkaError) {
        try call("create topic \"\(name)\"") { rd_kafka_mock_topic_create($0, name, Int32(partitions), Int32(replicationFactor)) }
    }

    /// Makes the broker drop its connections and refuse new ones until `setBrokerUp`.
    public func setBrokerDown(_ brokerID: Int32) throws(KafkaError) {
        try call("set broker \(brokerID) down") { rd_kafka_mock_broker_set_down($0, brokerID) }
    }

    public func setBrokerUp(_ brokerID: Int32) throws(KafkaError) {
        try call("set broker \(brokerID) up") { rd_kafka_mock_broker_set_up($0, brokerID) }
    }

    /// Adds a round-trip delay to every response from the broker.
    public func setBrokerRTT(_ brokerID: Int32, _ rtt: Duration) throws(KafkaError) {
        try call("set broker \(brokerID) RTT") { rd_kafka_mock_broker_set_rtt($0, brokerID, rtt.kafkaMilliseconds) }
    }

    public func setPartitionLeader(topic: String, partition: Int32, brokerID: Int32) throws(KafkaError) {
        try call("set leader of \(topic)[\(partition)] to broker \(brokerID)") {
            rd_kafka_mock_partition_set_leader($0, topic, partition, brokerID)
        }
    }

    /// Makes the next `errors.count` requests with this Kafka API key (e.g. 0 = Produce,
    /// 1 = Fetch, 8 = OffsetCommit) fail with these errors, in order, on any broker.
    public func pushRequestErrors(apiKey: Int16, _ errors: [KafkaError.Code]) {
        let codes = errors.map(\.cValue)
        state.withLock { state in
            guard let cluster = state?.cluster else { return }
            rd_kafka_mock_push_request_errors_array(cluster, apiKey, codes.count, codes)
        }
    }

    private func call(_ operation: String, _ body: (OpaquePointer) -> rd_kafka_resp_err_t) throws(KafkaError) {
        let err = state.withLock { state in
            guard let cluster = state?.cluster else { return RD_KAFKA_RESP_ERR__DESTROY }
            return body(cluster)
        }
        if err != RD_KAFKA_RESP_ERR_NO_ERROR { throw KafkaError(err, operation) }
    }
}
