import Foundation

/// The parts of librdkafka's statistics JSON (`statistics.interval.ms`) consent-gate uses:
/// per-partition consumer lag, for metrics and for deciding when a backlog is drained.
/// Parsed off the hot path (once per interval), hence Foundation's JSON parser.
public struct KafkaStatistics: Sendable, Hashable {
    public struct Partition: Sendable, Hashable {
        public let topic: String
        public let partition: Int32
        /// High watermark minus the consumer's position (or committed offset); -1 when unknown.
        public let consumerLag: Int64
        /// The partition's high watermark as last seen; -1 when unknown.
        public let highWatermark: Int64
        /// The last committed offset; negative (logical offset) when none.
        public let committedOffset: Int64
    }

    /// The client's name (`client.id` plus a suffix), e.g. `rdkafka#consumer-1`.
    public let clientName: String
    /// Every real partition the client reports on (librdkafka's internal partition -1, which
    /// holds messages not yet partitioned, is left out), sorted by topic and partition.
    public let partitions: [Partition]

    /// Consumer lag per partition, for partitions whose lag is known.
    public var consumerLag: [TopicPartition: Int64] {
        var lag: [TopicPartition: Int64] = [:]
        for p in partitions where p.consumerLag >= 0 {
            lag[TopicPartition(topic: p.topic, partition: p.partition)] = p.consumerLag
        }
        return lag
    }

    public enum ParseError: Error, Sendable, Hashable {
        /// Not a JSON object, or a field has an unexpected type; says which.
        case malformed(String)
    }

    public static func parse(_ json: Data) throws(ParseError) -> KafkaStatistics {
        let root: [String: Any]
        do {
            guard let object = try JSONSerialization.jsonObject(with: json) as? [String: Any] else {
                throw ParseError.malformed("top level is not an object")
            }
            root = object
        } catch let error as ParseError {
            throw error
        } catch {
            throw .malformed("invalid JSON: \(error.localizedDescription)")
        }
        let name = root["name"] as? String ?? ""
        guard let topics = root["topics"] as? [String: Any] ?? (root["topics"] == nil ? [:] : nil) else {
            throw .malformed("\"topics\" is not an object")
        }
        var partitions: [Partition] = []
        for (topic, value) in topics {
            guard let topicObject = value as? [String: Any],
                let partitionObjects = topicObject["partitions"] as? [String: Any]
            else { throw .malformed("topics.\(topic).partitions is missing or not an object") }
            for (key, value) in partitionObjects {
                guard let id = Int32(key), let p = value as? [String: Any] else {
                    throw .malformed("topics.\(topic).partitions.\(key) is not a partition object")
                }
                guard id >= 0 else { continue }
                partitions.append(
                    Partition(
                        topic: topic, partition: id,
                        consumerLag: try int(p["consumer_lag"], "topics.\(topic).partitions.\(key).consumer_lag"),
                        highWatermark: try int(p["hi_offset"], "topics.\(topic).partitions.\(key).hi_offset"),
                        committedOffset: try int(p["committed_offset"], "topics.\(topic).partitions.\(key).committed_offset")
                    ))
            }
        }
        partitions.sort { ($0.topic, $0.partition) < ($1.topic, $1.partition) }
        return KafkaStatistics(clientName: name, partitions: partitions)
    }

    /// A JSON integer; an absent field counts as unknown (-1).
    private static func int(_ value: Any?, _ path: String) throws(ParseError) -> Int64 {
        guard let value else { return -1 }
        guard let number = value as? NSNumber else { throw .malformed("\(path) is not a number") }
        return number.int64Value
    }
}
