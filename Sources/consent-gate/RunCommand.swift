import ArgumentParser
import ConsentAdmin
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
        let loaded = CommandSupport.loadConfiguration(config)
        let (configuration, policy) = (loaded.configuration, loaded.policy)
        let fileSubjects: Suppressions.Builder
        do {
            fileSubjects = try CommandSupport.readSuppressions(suppressions, identifiers: configuration.policy.suppressionIdentifiers)
        } catch {
            CommandSupport.exit(2, "\(error)")
        }
        let suppressed = fileSubjects.build()
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        let token: AdminToken?
        do {
            token = try AdminToken.load(environment: ProcessInfo.processInfo.environment, configured: loaded.adminToken?.value)
        } catch {
            CommandSupport.exit(2, "consent-gate: admin token: \(error)")
        }
        if token == nil {
            logger.warning("no admin token (admin.token, CONSENT_GATE_ADMIN_TOKEN or CONSENT_GATE_ADMIN_TOKEN_FILE): the regulations API answers 503")
        }

        var settings = WorkerSettings(configuration: configuration, clients: loaded.clients)
        if let lanes { settings.lanes = max(1, lanes) }
        settings.maxInFlightOutputs = max(1, maxInFlight)
        settings.shutdownTimeout = .milliseconds(Int(shutdownTimeout * 1000))
        settings.connectTimeout = .milliseconds(Int(connectTimeout * 1000))
        let state = RoutingState(
            policy: policy,
            destinationTopics: policy.destinations.indices.map(configuration.topic(forDestination:)),
            suppressions: suppressed)
        let suppressionTopics: SuppressionTopics
        do {
            suppressionTopics = try SuppressionTopics(
                brokers: settings.brokers, suppressionTopic: configuration.kafka.suppressionTopic,
                regulationTopic: configuration.kafka.regulationTopic,
                clients: settings.clients,
                seed: fileSubjects, state: state, logger: logger)
        } catch {
            CommandSupport.exit(2, "consent-gate: invalid Kafka client property: \(error)")
        }
        let worker = RoutingWorker(settings: settings, state: state, suppressionTopics: suppressionTopics, logger: logger)
        let api = AdminAPI(
            store: KafkaRegulationStore(topics: suppressionTopics, state: state),
            readiness: WorkerReadiness(worker: worker), registry: registry, token: token,
            suppressionIdentifiers: configuration.policy.suppressionIdentifiers, version: ConsentGate.version, logger: logger)
        let listen = configuration.admin.listen
        let admin = AdminServer(host: listen.host, port: listen.port, api: api, logger: logger) { port in
            logger.info("admin listening", metadata: ["address": "\(listen.host):\(port)"])
        }
        let reloader = PolicyReloader(path: config, state: state, logger: logger)
        // Shut down in reverse order: the worker first (finish, commit, leave the group) while
        // the admin listener still answers probes and scrapes.
        let group = ServiceGroup(
            configuration: .init(
                services: [
                    .init(service: admin),
                    .init(service: HealthGauges(worker: worker, state: state)),
                    .init(service: reloader),
                    .init(service: worker, successTerminationBehavior: .gracefullyShutdownGroup),
                ],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger))
        do {
            try await group.run()
        } catch {
            CommandSupport.exit(1, "consent-gate: \(error)")
        }
    }
}

/// Keeps the readiness and state gauges current for scrapers that never call `/readyz`.
struct HealthGauges: Service {
    let worker: RoutingWorker
    let state: RoutingState

    func run() async throws {
        let ready = Gauge(label: "consent_gate_ready")
        let subscriptions = Gauge(label: "consent_gate_subscription_store_size")
        let suppressions = Gauge(label: "consent_gate_state_caught_up", dimensions: [("topic", "suppressions")])
        let subscriptionState = Gauge(label: "consent_gate_state_caught_up", dimensions: [("topic", "subscriptions")])
        while !Task.isCancelled, !Task.isShuttingDownGracefully {
            let checks = worker.readinessChecks
            ready.record(checks.allSatisfy(\.ok) ? 1 : 0)
            suppressions.record(checks.first { $0.name == "suppressions" }?.ok == true ? 1 : 0)
            subscriptionState.record(checks.first { $0.name == "subscriptions" }?.ok == true ? 1 : 0)
            subscriptions.record(state.subscriptions.count)
            try? await Task.sleep(for: .seconds(1))
        }
    }
}

extension WorkerSettings {
    /// The worker's Kafka settings from the configuration file.
    init(configuration: Configuration, clients: KafkaClientConfig) {
        let kafka = configuration.kafka
        self.init(
            brokers: kafka.brokers, groupID: kafka.groupId, ingestTopic: kafka.ingestTopic,
            deadLetterTopic: kafka.deadLetterTopic, subscriptionTopic: kafka.subscriptionTopic,
            replicaID: "\(ProcessInfo.processInfo.hostName)-\(getpid())-\(UUID().uuidString.prefix(8))",
            clients: clients)
        auditTopic = kafka.auditTopic
    }
}
