import ArgumentParser
import Dispatch
import Foundation
import Kafka

/// Runs librdkafka's mock cluster as a stand-alone broker, so other processes (kcat, Python
/// clients, the worker) have a Kafka to talk to on machines where no real one can run.
struct DevBrokerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dev-broker",
        abstract: "Runs an in-process mock Kafka cluster until SIGINT/SIGTERM.",
        discussion: """
            Prints the bootstrap servers on standard output (one line) once the topics exist.
            Data lives in memory only: each partition keeps about the last 5 MB, and topics
            must be created here (--topic) because the mock has no CreateTopics; unknown
            topics are auto-created with 4 partitions.
            """
    )

    struct TopicSpec {
        var name: String
        var partitions: Int

        /// Parses `NAME:PARTITIONS`; the error says what was wrong.
        static func parse(_ argument: String) throws -> TopicSpec {
            let parts = argument.split(separator: ":", omittingEmptySubsequences: false)
            guard parts.count == 2, !parts[0].isEmpty else {
                throw ValidationError("--topic expects NAME:PARTITIONS (e.g. events.raw:8), got \"\(argument)\"")
            }
            guard let partitions = Int(parts[1]), partitions > 0 else {
                throw ValidationError("--topic \"\(argument)\": PARTITIONS must be a positive integer, got \"\(parts[1])\"")
            }
            return TopicSpec(name: String(parts[0]), partitions: partitions)
        }
    }

    @Option(help: "Number of mock brokers (ids 1...N).")
    var brokers = 1

    @Option(
        name: .customLong("topic"), help: ArgumentHelp("A topic to create; repeatable.", valueName: "NAME:PARTITIONS"),
        transform: TopicSpec.parse)
    var topics: [TopicSpec] = []

    @Option(help: "Also write the bootstrap servers to this file (written once the topics exist).")
    var bootstrapFile: String?

    func validate() throws {
        guard brokers >= 1 else { throw ValidationError("--brokers must be at least 1, got \(brokers)") }
    }

    func run() async throws {
        // Watch the signals before the cluster exists, so an early SIGTERM still ends cleanly.
        let (signals, continuation) = AsyncStream<Int32>.makeStream()
        let sources = Self.watch([SIGINT, SIGTERM]) { continuation.yield($0) }
        let cluster = try MockCluster(brokers: brokers)
        for topic in topics {
            try cluster.createTopic(name: topic.name, partitions: topic.partitions, replicationFactor: min(brokers, 3))
        }
        if let bootstrapFile {
            try (cluster.bootstrapServers + "\n").write(toFile: bootstrapFile, atomically: true, encoding: .utf8)
        }
        FileHandle.standardOutput.write(Data((cluster.bootstrapServers + "\n").utf8))  // unbuffered
        let topicList = topics.map { "\($0.name) (\($0.partitions))" }.joined(separator: ", ")
        StandardError.write(
            Data("dev-broker: \(brokers) broker(s) at \(cluster.bootstrapServers)\(topics.isEmpty ? "" : "; topics: \(topicList)"); stop with SIGINT or SIGTERM\n".utf8))

        var received = signals.makeAsyncIterator()
        let signal = await received.next()
        sources.forEach { $0.cancel() }
        cluster.shutdown()
        StandardError.write(Data("dev-broker: stopped on signal \(signal ?? 0)\n".utf8))
    }

    /// Calls `handler` on each of these signals instead of their default action (termination),
    /// so the process can shut the cluster down and exit 0. Keep the sources alive meanwhile.
    private static func watch(_ signals: [Int32], _ handler: @escaping @Sendable (Int32) -> Void) -> [any DispatchSourceSignal] {
        signals.map { number in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { handler(number) }
            source.resume()
            return source
        }
    }
}
