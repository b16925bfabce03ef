import ArgumentParser
import ConsentConfig
import ConsentEngine
import ConsentWorker
import Foundation
import Kafka
import Logging
import Metrics
import Prometheus
import ServiceLifecycle

/// `consent-gate run`: the daemon. Joins the consumer group on the ingest topic and routes
/// every event to the destinations allowed to receive it, until SIGTERM/SIGINT.
struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Route events from the ingest topic to the destination topics they are allowed to reach.",
        discussion: """
            Exit status 0 after a graceful stop (SIGTERM or SIGINT), 2 for a bad configuration, \
            1 when Kafka is unreachable, a topic is missing, or the worker fails.
            """
    )

    @Option(name: .long, help: "Configuration file (YAML or JSON).")
    var config: String

    @Option(name: .long, help: "File with one suppressed subject id per line, loaded at start.")
    var suppressions: String?

    @Option(name: .long, help: "Threads deciding and producing in parallel (default: cores, at most 8).")
    var lanes: Int?

    @Option(name: .customLong("max-in-flight"), help: "Unacknowledged outputs before fetching pauses.")
    var maxInFlight: Int = 200_000

    @Option(name: .customLong("connect-timeout"), help: "Seconds to wait for the brokers at start.")
    var connectTimeout: Double = 10

    @Option(name: .customLong("shutdown-timeout"), help: "Seconds a graceful stop may take.")
    var shutdownTimeout: Double = 25

    func run() async throws {
        CommandSupport.bootstrapLogging()
        let logger = Logger(label: "consent-gate")
        let (configuration, policy) = CommandSupport.loadConfiguration(config)
        let suppressed: Suppressions
        do {
            suppressed = try CommandSupport.loadSuppressions(suppressions, identifiers: configuration.policy.suppressionIdentifiers)
        } catch {
            CommandSupport.exit(2, "\(error)")
        }
        MetricsSystem.bootstrap(PrometheusMetricsFactory())

        var settings = WorkerSettings(configuration: configuration)
        if let lanes { settings.lanes = max(1, lanes) }
        settings.maxInFlightOutputs = max(1, maxInFlight)
        settings.shutdownTimeout = .milliseconds(Int(shutdownTimeout * 1000))
        settings.connectTimeout = .milliseconds(Int(connectTimeout * 1000))
        let state = RoutingState(
            policy: policy,
            destinationTopics: policy.destinations.indices.map(configuration.topic(forDestination:)),
            suppressions: suppressed)
        let worker = RoutingWorker(settings: settings, state: state, logger: logger)
        let group = ServiceGroup(
            configuration: .init(
                services: [.init(service: worker)],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger))
        do {
            try await group.run()
        } catch {
            CommandSupport.exit(1, "consent-gate: \(error)")
        }
    }
}

extension WorkerSettings {
    /// The worker's Kafka settings from the configuration file.
    init(configuration: Configuration) {
        let kafka = configuration.kafka
        self.init(
            brokers: kafka.brokers, groupID: kafka.groupId, ingestTopic: kafka.ingestTopic,
            deadLetterTopic: kafka.deadLetterTopic, subscriptionTopic: kafka.subscriptionTopic,
            replicaID: "\(ProcessInfo.processInfo.hostName)-\(getpid())-\(UUID().uuidString.prefix(8))",
            consumerProperties: KafkaProperties(kafka.consumer),
            producerProperties: KafkaProperties(kafka.producer))
    }
}

extension KafkaProperties {
    /// Operator-given librdkafka properties, in a stable (sorted) order.
    init(_ properties: [String: String]) {
        self.init()
        for name in properties.keys.sorted() { self[name] = properties[name] }
    }
}
