import ConsentEngine
import Foundation

/// The whole configuration file (config.md): Kafka wiring, the routing policy, the admin API.
public struct Configuration: Sendable, Equatable {
    public var kafka: KafkaSettings
    public var policy: Policy
    public var admin: AdminSettings

    public init(kafka: KafkaSettings = KafkaSettings(), policy: Policy, admin: AdminSettings = AdminSettings()) {
        self.kafka = kafka
        self.policy = policy
        self.admin = admin
    }

    /// The topic destination `index` is produced to: its `topic`, else the template with `{id}`.
    public func topic(forDestination index: Int) -> String {
        let destination = policy.destinations[index]
        return destination.topic ?? kafka.topic(forDestinationId: destination.id)
    }

    /// Environment variable that overrides `kafka.brokers` (e.g. per deployment).
    public static let brokersEnvironmentVariable = "CONSENT_GATE_BROKERS"

    /// This configuration with environment overrides applied; pass `ProcessInfo.processInfo.environment`.
    public func applyingEnvironment(_ environment: [String: String]) -> Configuration {
        var result = self
        if let brokers = environment[Self.brokersEnvironmentVariable], !brokers.isEmpty {
            result.kafka.brokers = brokers
        }
        return result
    }
}

/// `kafka:`; omitted keys take the values of config.md's example.
public struct KafkaSettings: Sendable, Equatable {
    public var brokers: String
    public var groupId: String
    public var ingestTopic: String
    public var deadLetterTopic: String
    public var suppressionTopic: String
    public var subscriptionTopic: String
    /// Where accepted regulations are recorded, delete requests included, for downstream
    /// deletion workers and for every replica's `GET /v1/regulations/{id}`. An extension of
    /// config.md, with a default, so existing files stay valid.
    public var regulationTopic: String
    /// The optional audit stream: one record per dropped (event, destination) with the reason,
    /// to answer "why did Amplitude not get this event?". Absent: off.
    public var auditTopic: String?
    /// Contains `{id}`, replaced by a destination id.
    public var destinationTopicTemplate: String
    /// librdkafka properties for every client the worker creates (consumers, producers,
    /// admin clients, state followers): where SASL and TLS settings go, once. Each client gets
    /// only those that apply to its kind. Values may be `${env:NAME}` or `${file:/path}`.
    public var client: [String: String]
    /// Extra librdkafka properties per role, on top of `client`, passed through as strings.
    public var consumer: [String: String]
    public var producer: [String: String]

    public static let idPlaceholder = "{id}"

    public init(
        brokers: String = "kafka-0:9092,kafka-1:9092",
        groupId: String = "consent-gate",
        ingestTopic: String = "events.raw",
        deadLetterTopic: String = "events.dlq",
        suppressionTopic: String = "consent.suppressions",
        subscriptionTopic: String = "consent.subscriptions",
        regulationTopic: String = "consent.regulations",
        auditTopic: String? = nil,
        destinationTopicTemplate: String = "dest.{id}",
        client: [String: String] = [:],
        consumer: [String: String] = [:],
        producer: [String: String] = [:]
    ) {
        self.brokers = brokers
        self.groupId = groupId
        self.ingestTopic = ingestTopic
        self.deadLetterTopic = deadLetterTopic
        self.suppressionTopic = suppressionTopic
        self.subscriptionTopic = subscriptionTopic
        self.regulationTopic = regulationTopic
        self.auditTopic = auditTopic
        self.destinationTopicTemplate = destinationTopicTemplate
        self.client = client
        self.consumer = consumer
        self.producer = producer
    }

    public func topic(forDestinationId id: String) -> String {
        destinationTopicTemplate.replacingOccurrences(of: Self.idPlaceholder, with: id)
    }
}

/// `admin:`.
public struct AdminSettings: Sendable, Equatable {
    public var listen: ListenAddress
    /// The regulations API token as written: best a `${env:NAME}` or `${file:/path}` reference
    /// (see `ResolvedSecrets`); nil when it comes from the environment or is not set.
    public var token: String?

    public init(listen: ListenAddress = ListenAddress(host: "127.0.0.1", port: 8080), token: String? = nil) {
        self.listen = listen
        self.token = token
    }
}

/// `host:port`; host is an IPv4 address, a host name, a bracketed IPv6 address, or empty
/// (all interfaces).
public struct ListenAddress: Sendable, Equatable, CustomStringConvertible {
    public var host: String
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// Parses `host:port`; nil when malformed. Port 0 asks the system for a free port.
    public init?(parsing text: String) {
        guard let colon = text.lastIndex(of: ":") else { return nil }
        let host = String(text[..<colon])
        guard let port = Int(text[text.index(after: colon)...]), (0...65535).contains(port) else { return nil }
        if host.hasPrefix("[") {
            guard host.hasSuffix("]"), host.count > 2,
                  host.dropFirst().dropLast().allSatisfy({ $0.isHexDigit || $0 == ":" || $0 == "." })
            else { return nil }
        } else {
            let labels = host.split(separator: ".", omittingEmptySubsequences: false)
            let valid = host.isEmpty || labels.allSatisfy { label in
                !label.isEmpty && label.count <= 63 && label.first != "-" && label.last != "-"
                    && label.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }
            }
            guard valid else { return nil }
        }
        self.init(host: host, port: port)
    }

    public var description: String { "\(host):\(port)" }
}
