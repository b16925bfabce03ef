import ArgumentParser
import ConsentConfig
import Foundation

/// `consent-gate topics plan`: the topics a configuration uses, with the settings
/// docs/operations.md ("Topics") requires, for clusters without Strimzi. The same list as
/// deploy/kubernetes/strimzi/topics.yaml for the reference policy; deploy/check.sh compares them.
struct TopicsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "topics",
        abstract: "Shows the Kafka topics a configuration needs.",
        subcommands: [Plan.self]
    )

    struct Plan: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Prints every topic the configuration uses, with its partitions, replication and required settings.",
            discussion: """
                Partition counts are reference values: the ingest topic's caps the useful replicas \
                (docs/operations.md, "Sizing"). The state topics' cleanup.policy=compact and \
                retention.ms=-1 are not optional: time-based deletion would bring suppressed users' \
                events back. --format kafka-topics prints kafka-topics.sh commands (set BOOTSTRAP).
                """
        )

        enum Format: String, ExpressibleByArgument, CaseIterable {
            case table, json, kafkaTopics = "kafka-topics"
        }

        @Option(name: .long, help: "The configuration file (YAML).")
        var config: String

        @Option(name: .long, help: "Output: \(Format.allCases.map(\.rawValue).joined(separator: ", ")).")
        var format: Format = .table

        func run() throws {
            let configuration = CommandSupport.loadConfiguration(config).configuration
            let topics = TopicPlan.topics(for: configuration)
            switch format {
            case .table: print(TopicPlan.table(topics), terminator: "")
            case .json: print(try TopicPlan.json(topics))
            case .kafkaTopics: print(TopicPlan.kafkaTopicsCommands(topics), terminator: "")
            }
        }
    }
}

/// One topic and how it must be created.
struct PlannedTopic {
    var name: String
    var role: String
    var partitions: Int
    var replicas: Int
    /// Topic-level configs, in the order they are printed.
    var config: [(key: String, value: String)]
}

/// The rules of docs/operations.md ("Topics") applied to one configuration.
enum TopicPlan {
    static let day = 86_400_000
    static let replicas = 3
    static let minInsyncReplicas = 2
    /// Kafka's default `max.message.bytes` (1 MiB plus the record batch overhead).
    static let brokerDefaultMaxMessageBytes = 1_048_588
    /// Room for headers and batch overhead above `limits.maxEventBytes`.
    static let headerAllowance = 65_536

    static func topics(for configuration: Configuration) -> [PlannedTopic] {
        let kafka = configuration.kafka
        // Events up to limits.maxEventBytes must fit where they are produced; the broker default
        // is enough unless the limit was raised close to it.
        let messageBytes = configuration.policy.limits.maxEventBytes + headerAllowance
        let sized: [(key: String, value: String)] = messageBytes > brokerDefaultMaxMessageBytes
            ? [("max.message.bytes", "\(messageBytes)")] : []
        let deleted = { (days: Int) in [(key: "cleanup.policy", value: "delete"), ("retention.ms", "\(days * day)")] }
        // Compact only, never time-deleted; tombstones outlive a replica's start-up read.
        let state: [(key: String, value: String)] = [
            ("cleanup.policy", "compact"), ("retention.ms", "-1"), ("min.compaction.lag.ms", "0"),
            ("delete.retention.ms", "\(day)"),
        ]
        var topics = [
            PlannedTopic(name: kafka.ingestTopic, role: "ingest", partitions: 12, replicas: replicas, config: deleted(7) + sized),
            PlannedTopic(name: kafka.deadLetterTopic, role: "dead-letter", partitions: 6, replicas: replicas, config: deleted(14) + sized),
            PlannedTopic(name: kafka.suppressionTopic, role: "suppressions", partitions: 3, replicas: replicas, config: state),
            // A fixed 12: as many as the reference ingest topic, which the worker requires today.
            PlannedTopic(name: kafka.subscriptionTopic, role: "subscriptions", partitions: 12, replicas: replicas, config: state),
            PlannedTopic(name: kafka.regulationTopic, role: "regulations", partitions: 3, replicas: replicas, config: deleted(30)),
        ]
        if let audit = kafka.auditTopic {
            topics.append(PlannedTopic(name: audit, role: "audit", partitions: 12, replicas: replicas, config: deleted(30)))
        }
        for index in configuration.policy.destinations.indices {
            let name = configuration.topic(forDestination: index)
            guard !topics.contains(where: { $0.name == name }) else { continue }
            topics.append(PlannedTopic(name: name, role: "destination", partitions: 12, replicas: replicas, config: deleted(7) + sized))
        }
        return topics.map { topic in
            var topic = topic
            topic.config.append(("min.insync.replicas", "\(minInsyncReplicas)"))
            return topic
        }
    }

    static func table(_ topics: [PlannedTopic]) -> String {
        let header = ["TOPIC", "ROLE", "PARTITIONS", "REPLICAS", "CONFIG"]
        let rows = [header] + topics.map { topic in
            [topic.name, topic.role, "\(topic.partitions)", "\(topic.replicas)",
             topic.config.map { "\($0.key)=\($0.value)" }.joined(separator: " ")]
        }
        let widths = header.indices.dropLast().map { column in rows.map { $0[column].count }.max() ?? 0 }
        return rows.map { row in
            zip(row, widths).map { $0.padding(toLength: $1 + 2, withPad: " ", startingAt: 0) }.joined() + row[row.count - 1]
        }.joined(separator: "\n") + "\n"
    }

    static func json(_ topics: [PlannedTopic]) throws -> String {
        struct Entry: Encodable {
            var name: String, role: String, partitions: Int, replicas: Int, config: [String: String]
        }
        let entries = topics.map {
            Entry(name: $0.name, role: $0.role, partitions: $0.partitions, replicas: $0.replicas,
                  config: Dictionary($0.config.map { ($0.key, $0.value) }, uniquingKeysWith: { _, last in last }))
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(entries), as: UTF8.self)
    }

    /// Idempotent `kafka-topics.sh` commands; topic names are valid shell words (Kafka allows
    /// only `[a-zA-Z0-9._-]`).
    static func kafkaTopicsCommands(_ topics: [PlannedTopic]) -> String {
        topics.map { topic in
            (["kafka-topics.sh --bootstrap-server \"${BOOTSTRAP:?set BOOTSTRAP to host:port}\" --create --if-not-exists",
              "--topic \(topic.name) --partitions \(topic.partitions) --replication-factor \(topic.replicas)"]
                + topic.config.map { "--config \($0.key)=\($0.value)" }).joined(separator: " ")
        }.joined(separator: "\n") + "\n"
    }
}
