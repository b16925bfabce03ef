import CRdKafka

/// A partition of a topic.
public struct TopicPartition: Hashable, Sendable, CustomStringConvertible {
    public var topic: String
    public var partition: Int32

    public init(topic: String, partition: Int32) {
        self.topic = topic
        self.partition = partition
    }

    public var description: String { "\(topic)[\(partition)]" }
}

/// A partition with an offset. For stored and committed offsets the offset is the *next* one to
/// consume (last processed + 1), Kafka's convention. Negative values are librdkafka's logical
/// offsets, e.g. `TopicPartitionOffset.invalid` (-1001) for "none committed".
public struct TopicPartitionOffset: Hashable, Sendable, CustomStringConvertible {
    public var topic: String
    public var partition: Int32
    public var offset: Int64

    /// librdkafka's `RD_KAFKA_OFFSET_INVALID`: no offset (e.g. nothing committed yet).
    public static let invalid: Int64 = Int64(RD_KAFKA_OFFSET_INVALID)
    /// librdkafka's `RD_KAFKA_OFFSET_BEGINNING`: the oldest retained message.
    public static let beginning: Int64 = Int64(RD_KAFKA_OFFSET_BEGINNING)

    public init(topic: String, partition: Int32, offset: Int64) {
        self.topic = topic
        self.partition = partition
        self.offset = offset
    }

    public var topicPartition: TopicPartition { TopicPartition(topic: topic, partition: partition) }
    public var description: String { "\(topic)[\(partition)]@\(offset)" }
}

/// An owned `rd_kafka_topic_partition_list_t`, destroyed with this value.
final class PartitionList {
    let pointer: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>

    init(capacity: Int) {
        pointer = rd_kafka_topic_partition_list_new(Int32(max(capacity, 1)))
    }

    convenience init(_ partitions: some Collection<TopicPartition>) {
        self.init(capacity: partitions.count)
        for p in partitions { rd_kafka_topic_partition_list_add(pointer, p.topic, p.partition) }
    }

    convenience init(_ offsets: some Collection<TopicPartitionOffset>) {
        self.init(capacity: offsets.count)
        for p in offsets { rd_kafka_topic_partition_list_add(pointer, p.topic, p.partition).pointee.offset = p.offset }
    }

    deinit { rd_kafka_topic_partition_list_destroy(pointer) }

    var elements: UnsafeMutableBufferPointer<rd_kafka_topic_partition_t> {
        PartitionList.elements(of: pointer)
    }

    static func elements(of list: UnsafePointer<rd_kafka_topic_partition_list_t>)
        -> UnsafeMutableBufferPointer<rd_kafka_topic_partition_t>
    {
        UnsafeMutableBufferPointer(start: list.pointee.elems, count: Int(list.pointee.cnt))
    }

    static func partitions(of list: UnsafePointer<rd_kafka_topic_partition_list_t>?) -> [TopicPartition] {
        guard let list else { return [] }
        return elements(of: list).map { TopicPartition(topic: String(cString: $0.topic), partition: $0.partition) }
    }

    static func offsets(of list: UnsafePointer<rd_kafka_topic_partition_list_t>) -> [TopicPartitionOffset] {
        elements(of: list).map {
            TopicPartitionOffset(topic: String(cString: $0.topic), partition: $0.partition, offset: $0.offset)
        }
    }

    /// The first per-partition error in the list, if any.
    static func firstError(in list: UnsafePointer<rd_kafka_topic_partition_list_t>, _ operation: String) -> KafkaError? {
        for element in elements(of: list) where element.err != RD_KAFKA_RESP_ERR_NO_ERROR {
            return KafkaError(element.err, "\(operation) \(String(cString: element.topic))[\(element.partition)]")
        }
        return nil
    }
}
