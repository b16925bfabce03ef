import CRdKafka

/// librdkafka configuration properties, kept in insertion order because librdkafka applies them
/// one by one and some properties adjust others (e.g. `enable.idempotence` sets `acks`).
/// Setting an existing key replaces its value in place.
public struct KafkaProperties: Sendable, Hashable, Sequence, ExpressibleByDictionaryLiteral {
    public struct Property: Sendable, Hashable {
        public let name: String
        public let value: String
    }

    private var entries: [Property] = []

    public init() {}

    public init(dictionaryLiteral elements: (String, String)...) {
        for (name, value) in elements { self[name] = value }
    }

    public subscript(name: String) -> String? {
        get { entries.first { $0.name == name }?.value }
        set {
            let index = entries.firstIndex { $0.name == name }
            switch (index, newValue) {
            case (let i?, let v?): entries[i] = Property(name: name, value: v)
            case (let i?, nil): entries.remove(at: i)
            case (nil, let v?): entries.append(Property(name: name, value: v))
            case (nil, nil): break
            }
        }
    }

    /// These properties with every property of `overrides` set on top.
    public func merging(_ overrides: KafkaProperties) -> KafkaProperties {
        var merged = self
        for property in overrides.entries { merged[property.name] = property.value }
        return merged
    }

    public func makeIterator() -> IndexingIterator<[Property]> { entries.makeIterator() }

    /// Producer settings consent-gate relies on: no duplicates or reordering on retry
    /// (idempotence) and an acknowledgement from every in-sync replica before a message counts
    /// as delivered, since ingest offsets are committed only after delivery.
    public static let producerDefaults: KafkaProperties = [
        "enable.idempotence": "true",
        "acks": "all",
    ]

    /// Consumer settings for at-least-once processing: offsets are stored and committed only by
    /// the application, after every output of a message was acknowledged; a new group starts at
    /// the oldest retained message rather than skipping the backlog.
    public static let consumerDefaults: KafkaProperties = [
        "enable.auto.commit": "false",
        "enable.auto.offset.store": "false",
        "auto.offset.reset": "earliest",
    ]

    /// Applies every property to `conf` with `rd_kafka_conf_set`, throwing on the first refusal.
    func apply(to conf: OpaquePointer) throws(KafkaConfigurationError) {
        var errstr = [CChar](repeating: 0, count: 512)
        for property in entries {
            let result = rd_kafka_conf_set(conf, property.name, property.value, &errstr, errstr.count)
            switch result {
            case RD_KAFKA_CONF_OK:
                continue
            case RD_KAFKA_CONF_UNKNOWN:
                throw .unknownProperty(name: property.name)
            default:
                throw .invalidValue(property: property.name, value: property.value, reason: string(fromCBuffer: errstr))
            }
        }
    }
}
