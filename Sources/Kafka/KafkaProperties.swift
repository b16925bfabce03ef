import CRdKafka
import Foundation

/// librdkafka configuration properties, kept in insertion order because librdkafka applies them
/// one by one and some properties adjust others (e.g. `enable.idempotence` sets `acks`).
/// Setting an existing key replaces its value in place.
public struct KafkaProperties: Sendable, Hashable, Sequence, ExpressibleByDictionaryLiteral {
    public struct Property: Sendable, Hashable {
        public let name: String
        public let value: String
        /// The value came from a secret (an environment variable or a mounted file): errors
        /// never show it.
        public let isSecret: Bool
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
            case (let i?, let v?): entries[i] = Property(name: name, value: v, isSecret: false)
            case (let i?, nil): entries.remove(at: i)
            case (nil, let v?): entries.append(Property(name: name, value: v, isSecret: false))
            case (nil, nil): break
            }
        }
    }

    /// Sets a property whose value is a secret: it reaches librdkafka but no error message.
    public mutating func setSecret(_ name: String, _ value: String) {
        set(Property(name: name, value: value, isSecret: true))
    }

    private mutating func set(_ property: Property) {
        if let i = entries.firstIndex(where: { $0.name == property.name }) {
            entries[i] = property
        } else {
            entries.append(property)
        }
    }

    public var isEmpty: Bool { entries.isEmpty }
    public var names: [String] { entries.map(\.name) }

    /// These properties with every property of `overrides` set on top.
    public func merging(_ overrides: KafkaProperties) -> KafkaProperties {
        var merged = self
        for property in overrides.entries { merged.set(property) }
        return merged
    }

    /// Only the properties librdkafka applies to `role`'s clients: a consumer-only property
    /// given to a producer is ignored with a CONFWARN log line, and admin clients use neither
    /// kind. Unknown properties are kept, so applying them still fails loudly.
    public func filtered(for role: KafkaClientRole) -> KafkaProperties {
        var result = KafkaProperties()
        result.entries = entries.filter { role.accepts(KafkaPropertyScope.of($0.name)) }
        return result
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
                throw .invalidValue(property: property.name, value: property.shownValue, reason: property.redact(string(fromCBuffer: errstr)))
            }
        }
    }
}

extension KafkaProperties.Property {
    /// The value as errors may show it.
    var shownValue: String { isSecret ? "[redacted]" : value }

    /// `text` (e.g. librdkafka's error string, which quotes the value) without a secret value.
    func redact(_ text: String) -> String {
        guard isSecret, !value.isEmpty else { return text }
        return text.replacingOccurrences(of: value, with: "[redacted]")
    }
}

/// Which clients a librdkafka property applies to (the C/P column of its CONFIGURATION.md).
public enum KafkaPropertyScope: Sendable, Hashable {
    /// Every client (connection, security, logging, ...).
    case any
    case consumer
    case producer

    /// The scope of `name` in the linked librdkafka, nil for a property it does not know.
    public static func of(_ name: String) -> KafkaPropertyScope? { table[name] }

    /// Read once from `rd_kafka_conf_properties_show`, the library's own property table, so the
    /// scopes always match the librdkafka the binary runs with.
    private static let table: [String: KafkaPropertyScope] = {
        var buffer: UnsafeMutablePointer<CChar>?
        var size = 0
        guard let stream = open_memstream(&buffer, &size) else { return [:] }
        rd_kafka_conf_properties_show(stream)
        fclose(stream)
        guard let buffer else { return [:] }
        defer { free(buffer) }
        var table: [String: KafkaPropertyScope] = [:]
        for line in String(cString: buffer).split(separator: "\n") {
            let columns = line.split(separator: "|", omittingEmptySubsequences: false)
            guard columns.count > 2 else { continue }
            let name = columns[0].trimmingCharacters(in: .whitespaces)
            let scope: KafkaPropertyScope
            switch columns[1].trimmingCharacters(in: .whitespaces) {
            case "*", "C/P": scope = .any
            case "C": scope = .consumer
            case "P": scope = .producer
            default: continue
            }
            // A name listed twice (global and topic level) keeps the wider scope.
            if let existing = table[name], existing != scope { table[name] = .any } else { table[name] = scope }
        }
        return table
    }()
}

/// The kind of client a set of properties is for.
public enum KafkaClientRole: String, Sendable, Hashable, CaseIterable {
    case consumer
    case producer
    /// Metadata, watermark and offset queries (a producer-type handle that never produces).
    case admin

    func accepts(_ scope: KafkaPropertyScope?) -> Bool {
        switch (self, scope) {
        case (_, nil), (_, .any?): true
        case (.consumer, .consumer?), (.producer, .producer?): true
        default: false
        }
    }
}
