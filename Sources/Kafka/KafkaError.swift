import CRdKafka

/// A failure reported by librdkafka, with the operation that hit it so logs and callers can
/// tell *where* it happened without a stack trace.
public struct KafkaError: Error, Sendable, Hashable, CustomStringConvertible {
    /// A librdkafka `rd_kafka_resp_err_t` value. Negative codes are client-internal, positive ones
    /// come from the broker protocol.
    public struct Code: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        public let rawValue: Int32
        public init(rawValue: Int32) { self.rawValue = rawValue }
        init(_ err: rd_kafka_resp_err_t) { rawValue = err.rawValue }

        var cValue: rd_kafka_resp_err_t { rd_kafka_resp_err_t(rawValue) }

        /// librdkafka's symbolic name, e.g. `_QUEUE_FULL` or `NOT_LEADER_FOR_PARTITION`.
        public var name: String { String(cString: rd_kafka_err2name(cValue)) }
        public var description: String { "\(name) (\(rawValue))" }

        public static let noError = Code(RD_KAFKA_RESP_ERR_NO_ERROR)
        public static let transport = Code(RD_KAFKA_RESP_ERR__TRANSPORT)
        public static let messageTimedOut = Code(RD_KAFKA_RESP_ERR__MSG_TIMED_OUT)
        public static let partitionEOF = Code(RD_KAFKA_RESP_ERR__PARTITION_EOF)
        public static let unknownPartition = Code(RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION)
        public static let unknownTopic = Code(RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC)
        public static let allBrokersDown = Code(RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN)
        public static let timedOut = Code(RD_KAFKA_RESP_ERR__TIMED_OUT)
        public static let queueFull = Code(RD_KAFKA_RESP_ERR__QUEUE_FULL)
        public static let state = Code(RD_KAFKA_RESP_ERR__STATE)
        public static let noOffset = Code(RD_KAFKA_RESP_ERR__NO_OFFSET)
        public static let fatal = Code(RD_KAFKA_RESP_ERR__FATAL)
        public static let unknownTopicOrPartition = Code(RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART)
        public static let leaderNotAvailable = Code(RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE)
        public static let notLeaderForPartition = Code(RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION)
        public static let requestTimedOut = Code(RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT)
        public static let notEnoughReplicas = Code(RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS)
        public static let topicAlreadyExists = Code(RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS)
        public static let invalidPartitions = Code(RD_KAFKA_RESP_ERR_INVALID_PARTITIONS)
        public static let invalidReplicationFactor = Code(RD_KAFKA_RESP_ERR_INVALID_REPLICATION_FACTOR)
        public static let messageSizeTooLarge = Code(RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE)
    }

    public let code: Code
    /// Human-readable detail: librdkafka's error string, or a more specific reason when one is known.
    public let message: String
    /// What we were doing, e.g. `produce to "events"` or `commit`.
    public let operation: String
    /// True when librdkafka marked the error fatal: the client instance is unusable.
    public let isFatal: Bool

    public init(code: Code, message: String? = nil, operation: String, isFatal: Bool = false) {
        self.code = code
        self.message = message ?? String(cString: rd_kafka_err2str(code.cValue))
        self.operation = operation
        self.isFatal = isFatal
    }

    init(_ err: rd_kafka_resp_err_t, _ operation: String, message: String? = nil) {
        self.init(code: Code(err), message: message, operation: operation)
    }

    /// Takes ownership of an `rd_kafka_error_t` and destroys it.
    init(consuming error: OpaquePointer, _ operation: String) {
        defer { rd_kafka_error_destroy(error) }
        self.init(
            code: Code(rd_kafka_error_code(error)),
            message: String(cString: rd_kafka_error_string(error)),
            operation: operation,
            isFatal: rd_kafka_error_is_fatal(error) != 0
        )
    }

    public var description: String {
        "\(operation): \(code.name) (\(code.rawValue)): \(message)\(isFatal ? " [fatal]" : "")"
    }
}

/// A configuration rejected by librdkafka before any client exists, naming the property at fault.
public enum KafkaConfigurationError: Error, Sendable, Hashable, CustomStringConvertible {
    /// librdkafka does not know this property (typo, or not in librdkafka 2.0.2).
    case unknownProperty(name: String)
    /// The property exists but the value was refused.
    case invalidValue(property: String, value: String, reason: String)
    /// `rd_kafka_new` refused the configuration as a whole (e.g. conflicting properties).
    case clientCreationFailed(reason: String)

    public var description: String {
        switch self {
        case .unknownProperty(let name):
            "unknown Kafka property \"\(name)\""
        case .invalidValue(let property, let value, let reason):
            "invalid value \"\(value)\" for Kafka property \"\(property)\": \(reason)"
        case .clientCreationFailed(let reason):
            "Kafka client could not be created: \(reason)"
        }
    }
}
