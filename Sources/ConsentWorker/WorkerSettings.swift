import Glibc
import Kafka

/// Everything the worker needs besides the policy: where to read and write, and how hard to
/// push. Built by the CLI from the configuration file and command-line options.
public struct WorkerSettings: Sendable {
    public var brokers: String
    public var groupID: String
    public var ingestTopic: String
    public var deadLetterTopic: String
    /// Compacted topic of subscription states, shared by every replica.
    public var subscriptionTopic: String
    /// Where to write one audit record per dropped (event, destination); nil: off.
    public var auditTopic: String?
    /// Names this replica to the brokers (`client.id`), so broker logs and quotas can tell
    /// replicas apart.
    public var replicaID: String
    /// The operator's librdkafka properties (`kafka.client`, `kafka.consumer`,
    /// `kafka.producer`), applied over ours, to every client by role.
    public var clients: KafkaClientConfig
    /// How long start-up waits for the brokers before failing with a clear error.
    public var connectTimeout: Duration = .seconds(10)
    /// Messages per consume call.
    public var batchSize = 2_000
    /// Outputs produced and not yet acknowledged before the worker stops fetching; keeps memory
    /// flat however far behind the worker is.
    public var maxInFlightOutputs = 200_000
    /// Bytes of refused outputs held for retry (copies of their values) before the worker
    /// stops fetching; without it a long outage could hold up to `maxInFlightOutputs` copies.
    public var maxRetryBytes = 256 << 20
    /// How often acknowledged progress is committed while running.
    public var commitInterval: Duration = .seconds(1)
    /// How long a revoke waits for the revoked partitions' outputs to be acknowledged before
    /// committing what is done (the rest is redelivered to the new owner).
    public var drainTimeout: Duration = .seconds(10)
    /// Upper bound on a graceful stop: finish in-flight work, flush, commit, leave the group.
    public var shutdownTimeout: Duration = .seconds(25)
    /// Threads deciding and producing in parallel; partitions are spread over them.
    public var lanes: Int
    /// librdkafka statistics interval, the source of per-partition consumer lag.
    public var statisticsInterval: Duration = .seconds(5)

    public init(
        brokers: String, groupID: String, ingestTopic: String, deadLetterTopic: String,
        subscriptionTopic: String, replicaID: String,
        clients: KafkaClientConfig = KafkaClientConfig(),
        lanes: Int = WorkerSettings.defaultLanes
    ) {
        self.brokers = brokers
        self.groupID = groupID
        self.ingestTopic = ingestTopic
        self.deadLetterTopic = deadLetterTopic
        self.subscriptionTopic = subscriptionTopic
        self.replicaID = replicaID
        self.clients = clients
        self.lanes = lanes
    }

    public static var defaultLanes: Int {
        max(1, min(8, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))))
    }

    /// Consumer properties: ours, then the operator's from the configuration file.
    var consumer: KafkaProperties {
        var properties: KafkaProperties = [
            "bootstrap.servers": brokers,
            "client.id": replicaID,
            "fetch.wait.max.ms": "100",
        ]
        properties["statistics.interval.ms"] = String(statisticsInterval.components.seconds * 1000)
        return clients.properties(for: .consumer, over: properties)
    }

    /// Producer properties: throughput-tuned batching and Java-compatible key placement, then
    /// the operator's. Idempotence and `acks=all` come from `KafkaProperties.producerDefaults`.
    var producer: KafkaProperties {
        let properties: KafkaProperties = [
            "bootstrap.servers": brokers,
            "client.id": replicaID,
            "partitioner": "murmur2_random",
            "linger.ms": "20",
            "batch.num.messages": "10000",
            "queue.buffering.max.messages": "1000000",
            "queue.buffering.max.kbytes": "1048576",
        ]
        return clients.properties(for: .producer, over: properties)
    }

    /// Admin (metadata, watermark, committed-offset) client properties.
    var admin: KafkaProperties {
        clients.properties(for: .admin, over: ["bootstrap.servers": brokers])
    }
}
