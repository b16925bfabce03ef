import CRdKafka
import Logging

/// The librdkafka properties of every client an application creates, kept in one place so
/// security settings (SASL, TLS) are written once: `common` reaches every client, `consumer`
/// and `producer` add to it for their role. Each client gets only the properties that apply to
/// its role, so librdkafka never ignores one with a CONFWARN line.
public struct KafkaClientConfig: Sendable, Hashable {
    /// Where a property was given, for naming it in errors.
    public enum Section: String, Sendable, Hashable, CaseIterable {
        case common, consumer, producer
    }

    public var common: KafkaProperties
    public var consumer: KafkaProperties
    public var producer: KafkaProperties

    public init(common: KafkaProperties = [:], consumer: KafkaProperties = [:], producer: KafkaProperties = [:]) {
        self.common = common
        self.consumer = consumer
        self.producer = producer
    }

    public subscript(section: Section) -> KafkaProperties {
        switch section {
        case .common: common
        case .consumer: consumer
        case .producer: producer
        }
    }

    /// The properties of a client of `role`: `base` (the application's own, e.g.
    /// `bootstrap.servers`), then `common`, then the role's section. Admin clients take the
    /// role-neutral part of `consumer` too: they query what consumers read (watermarks,
    /// committed offsets), and configurations that predate `common` put security there.
    public func properties(for role: KafkaClientRole, over base: KafkaProperties = [:]) -> KafkaProperties {
        switch role {
        case .consumer: base.merging(common).merging(consumer).filtered(for: role)
        case .producer: base.merging(common).merging(producer).filtered(for: role)
        case .admin: base.merging(common).merging(consumer).filtered(for: role)
        }
    }

    /// One thing wrong with a property.
    public struct Issue: Error, Sendable, Hashable, CustomStringConvertible {
        public enum Problem: Sendable, Hashable {
            case unknownProperty
            /// librdkafka's reason; a secret value is redacted from it.
            case invalidValue(reason: String)
            /// A `consumer` property under `producer` or the reverse: librdkafka would ignore it.
            case wrongRole(KafkaPropertyScope)
            /// `rd_kafka_new` refused the client of this role as a whole (conflicting
            /// properties, an unreadable certificate, ...).
            case clientRefused(role: KafkaClientRole, reason: String)
        }

        /// Nil for `clientRefused`, which no single property caused.
        public var section: Section?
        public var property: String?
        public var problem: Problem

        public var description: String {
            switch problem {
            case .unknownProperty: "unknown librdkafka property (librdkafka \(KafkaClientConfig.libraryVersion))"
            case .invalidValue(let reason): "invalid value: \(reason)"
            case .wrongRole(let scope): "a \(scope) property, which librdkafka ignores here: move it under kafka.\(scope)"
            case .clientRefused(let role, let reason): "librdkafka refused the \(role) client configuration: \(reason)"
            }
        }
    }

    /// Everything librdkafka would refuse or ignore, checked without connecting: each property
    /// on its own (name, value, role), then, when those pass, each role's client is created
    /// and destroyed with the same properties the application would use, without brokers.
    public func issues() -> [Issue] {
        var issues: [Issue] = []
        for section in Section.allCases {
            for property in self[section] {
                var single = KafkaProperties()
                if property.isSecret { single.setSecret(property.name, property.value) } else { single[property.name] = property.value }
                let conf = rd_kafka_conf_new()!
                defer { rd_kafka_conf_destroy(conf) }
                do {
                    try single.apply(to: conf)
                } catch {
                    switch error {
                    case .unknownProperty: issues.append(Issue(section: section, property: property.name, problem: .unknownProperty))
                    case .invalidValue(_, _, let reason):
                        issues.append(Issue(section: section, property: property.name, problem: .invalidValue(reason: reason)))
                    case .clientCreationFailed(let reason):
                        issues.append(Issue(section: section, property: property.name, problem: .invalidValue(reason: reason)))
                    }
                    continue
                }
                switch (section, KafkaPropertyScope.of(property.name)) {
                case (.consumer, .producer?): issues.append(Issue(section: section, property: property.name, problem: .wrongRole(.producer)))
                case (.producer, .consumer?): issues.append(Issue(section: section, property: property.name, problem: .wrongRole(.consumer)))
                default: break
                }
            }
        }
        guard issues.isEmpty else { return issues }
        let quiet = Logger(label: "kafka.validate") { _ in SwiftLogNoOpLogHandler() }
        // No brokers: nothing connects, but TLS files, SASL settings and property conflicts are
        // checked by rd_kafka_new exactly as for the real clients.
        let base: KafkaProperties = ["bootstrap.servers": ""]
        for role in KafkaClientRole.allCases {
            var properties = self.properties(for: role)
            properties = properties.merging(base)
            do {
                switch role {
                case .consumer:
                    let client = try KafkaConsumer(groupID: "consent-gate-validate", properties: properties, logger: quiet)
                    client.close()
                case .producer:
                    let client = try KafkaProducer(properties: properties, logger: quiet)
                    client.close(timeout: .zero)
                case .admin:
                    _ = try KafkaAdmin(properties: properties, logger: quiet)
                }
            } catch {
                let reason: String =
                    switch error {
                    case .clientCreationFailed(let reason): reason
                    default: error.description
                    }
                issues.append(Issue(section: nil, property: nil, problem: .clientRefused(role: role, reason: redactingSecrets(reason))))
            }
        }
        return issues
    }

    /// `text` without any secret value of this configuration.
    public func redactingSecrets(_ text: String) -> String {
        Section.allCases.flatMap { Array(self[$0]) }.reduce(text) { $1.redact($0) }
    }

    /// The linked librdkafka's version, e.g. `2.0.2`.
    public static var libraryVersion: String { String(cString: rd_kafka_version_str()) }

    /// The features the linked librdkafka was built with (`builtin.features`), e.g. `ssl`,
    /// `sasl_scram`, `sasl_oauthbearer`.
    public static var builtinFeatures: [String] {
        let conf = rd_kafka_conf_new()!
        defer { rd_kafka_conf_destroy(conf) }
        var buffer = [CChar](repeating: 0, count: 1024)
        var size = buffer.count
        guard rd_kafka_conf_get(conf, "builtin.features", &buffer, &size) == RD_KAFKA_CONF_OK else { return [] }
        return string(fromCBuffer: buffer).split(separator: ",").map(String.init)
    }
}
