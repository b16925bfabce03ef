import ArgumentParser
import ConsentAdmin
import ConsentConfig
import ConsentEngine
import ConsentWorker
import Foundation
import Kafka

/// `consent-gate suppress add|remove|list`: the suppression list from the command line,
/// written to and read from the same topics as the admin API, so every replica applies it.
struct SuppressCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "suppress",
        abstract: "Add, remove or list suppressed subjects (the right to be forgotten).",
        subcommands: [Add.self, Remove.self, List.self]
    )

    struct Options: ParsableArguments {
        @Option(name: .long, help: "Configuration file (for the brokers and topic names).")
        var config: String

        /// An enumerated option, so a wrong value is a parse error reported with the
        /// subcommand's own usage and the allowed values.
        enum IdentifierType: String, ExpressibleByArgument, CaseIterable {
            case userId, anonymousId, email
        }

        @Option(name: .long, help: "Identifier type.")
        var type: IdentifierType = .userId

        func subjectType() -> SubjectType {
            switch type {
            case .userId: .userId
            case .anonymousId: .anonymousId
            case .email: .email
            }
        }
    }

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Suppress subjects (SUPPRESS_ONLY).")
        @OptionGroup var options: Options
        @Argument(help: "Subject ids.") var ids: [String]

        func validate() throws { try SuppressCommand.validate(ids) }

        func run() async throws {
            try SuppressCommand.submit(.suppressOnly, ids, options)
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Lift suppressions (UNSUPPRESS).")
        @OptionGroup var options: Options
        @Argument(help: "Subject ids.") var ids: [String]

        func validate() throws { try SuppressCommand.validate(ids) }

        func run() async throws {
            try SuppressCommand.submit(.unsuppress, ids, options)
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print the suppressed subjects, one `type:id` per line.")
        @Option(name: .long, help: "Configuration file (for the brokers and topic names).")
        var config: String

        func run() async throws {
            let loaded = CommandSupport.loadConfiguration(config)
            let configuration = loaded.configuration
            let topic = configuration.kafka.suppressionTopic
            let base: KafkaProperties = ["bootstrap.servers": configuration.kafka.brokers]
            let admin = try KafkaAdmin(properties: loaded.clients.properties(for: .admin, over: base))
            let ends = try admin.watermarks(topic: topic, timeout: .seconds(10))
            var live: [String: Bool] = [:]
            var order: [String] = []
            if ends.contains(where: { $0.high > $0.low }) {
                let consumer = try KafkaConsumer(groupID: "consent-gate-suppress-list", properties: loaded.clients.properties(for: .consumer, over: base))
                defer { consumer.close() }
                let partitions = ends.map { TopicPartition(topic: topic, partition: $0.partition) }
                try consumer.assign(partitions.map { TopicPartitionOffset(topic: topic, partition: $0.partition, offset: TopicPartitionOffset.beginning) })
                let deadline = ContinuousClock.now + .seconds(60)
                while try !consumer.position(partitions).allSatisfy({ position in
                    position.offset >= (ends.first { $0.partition == position.partition }?.high ?? 0)
                }) {
                    guard ContinuousClock.now < deadline else { CommandSupport.exit(1, "suppress list: \(topic) not read to its end in 60 s") }
                    for message in try consumer.consume(maxMessages: 10_000, timeout: .milliseconds(100)) where message.error == nil {
                        guard let key = message.key.map({ String(decoding: $0, as: UTF8.self) }) else { continue }
                        if live[key] == nil { order.append(key) }
                        live[key] = message.value != nil
                    }
                }
            }
            for key in order where live[key] == true { print(key) }
        }
    }

    /// Writes the regulation the admin API would write, and waits for the broker.
    /// In `validate()`, so ArgumentParser reports it with the subcommand's usage.
    static func validate(_ ids: [String]) throws {
        guard !ids.isEmpty, ids.count <= Regulation.maxSubjectIds, ids.allSatisfy({ !$0.isEmpty }) else {
            throw ValidationError("give 1 to \(Regulation.maxSubjectIds) non-empty subject ids")
        }
    }

    static func submit(_ type: RegulationType, _ ids: [String], _ options: Options) throws {
        let loaded = CommandSupport.loadConfiguration(options.config)
        let configuration = loaded.configuration
        let regulation = Regulation(
            id: UUID().uuidString.lowercased(), regulationType: type, subjectType: options.subjectType(),
            subjectIds: ids, receivedAt: Date())
        let records = KafkaRegulationStore.records(
            for: regulation, suppressionTopic: configuration.kafka.suppressionTopic, regulationTopic: configuration.kafka.regulationTopic)
        let base: KafkaProperties = ["bootstrap.servers": configuration.kafka.brokers]
        let producer = try KafkaProducer(properties: loaded.clients.properties(for: .producer, over: base))
        defer { producer.close() }
        do {
            try SuppressionTopics.write(records, with: producer, timeout: .seconds(30))
        } catch {
            CommandSupport.exit(1, "suppress: \(error)")
        }
        print("regulation \(regulation.id): \(type.rawValue) \(ids.count) \(options.type.rawValue)(s)")
    }
}
