import Foundation
import Logging
import ServiceLifecycle

/// The routing worker as a swift-service-lifecycle `Service`: runs the pipeline on its own
/// threads and stops it gracefully (finish, flush, commit, leave the group) on shutdown.
public struct RoutingWorker: Service {
    private let settings: WorkerSettings
    private let state: RoutingState
    private let metrics: WorkerMetrics
    private let logger: Logger
    private let pipeline: RoutingPipeline
    private let suppressionTopics: SuppressionTopics?

    /// - Parameter suppressionTopics: the shared suppression list and regulation log; loaded
    ///   completely before the first event is routed.
    public init(
        settings: WorkerSettings, state: RoutingState, suppressionTopics: SuppressionTopics? = nil,
        metrics: WorkerMetrics = WorkerMetrics(), logger: Logger
    ) {
        self.settings = settings
        self.state = state
        self.metrics = metrics
        self.logger = logger
        self.suppressionTopics = suppressionTopics
        self.pipeline = RoutingPipeline(settings: settings, state: state, metrics: metrics, logger: logger)
    }

    /// What `/readyz` reports: routing only makes sense with partitions, complete state and a
    /// working producer.
    public var readinessChecks: [(name: String, ok: Bool, detail: String?)] {
        let suppressionsLoaded = suppressionTopics?.isCaughtUp ?? true
        let subscriptionsLoaded = pipeline.subscriptionsLoaded.load(ordering: .acquiring)
        let assigned = pipeline.assignedCount.load(ordering: .acquiring)
        let running = isRunning
        return [
            ("suppressions", suppressionsLoaded, suppressionsLoaded ? nil : "suppression topic not read to its end yet"),
            ("subscriptions", subscriptionsLoaded, subscriptionsLoaded ? nil : "subscription topic not read to its end yet"),
            ("partitions", assigned > 0, assigned > 0 ? "\(assigned) assigned" : "no ingest partition assigned"),
            ("pipeline", running, running ? nil : "not routing (starting, stopping or failed)"),
        ]
    }

    /// True while the worker is in its consumer group and routing.
    public var isRunning: Bool { pipeline.isRunning.load(ordering: .acquiring) }

    /// Checks Kafka (see `checkKafka`), loads the shared state, then routes until a graceful
    /// shutdown, which may also arrive during start-up.
    public func run() async throws {
        let pipeline = self.pipeline
        let connectTimeout = settings.connectTimeout
        try await withGracefulShutdownHandler {
            try await runOnThread(name: "consent-gate.consumer") { [suppressionTopics] () throws(WorkerError) in
                try pipeline.checkTopics(timeout: connectTimeout)
                // Fail closed: not a single event before the whole suppression list is loaded.
                try suppressionTopics?.start(timeout: connectTimeout) { pipeline.isStopRequested }
                defer { suppressionTopics?.stop() }
                try pipeline.run()
            }
        } onGracefulShutdown: {
            pipeline.requestStop()
        }
    }
}

/// Runs blocking librdkafka work on a dedicated thread, never on the cooperative pool.
func runOnThread(name: String, _ body: @escaping @Sendable () throws(WorkerError) -> Void) async throws {
    try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, Error>) in
        let thread = Thread {
            do {
                try body()
                continuation.resume()
            } catch {
                continuation.resume(throwing: error)
            }
        }
        thread.name = name
        thread.stackSize = 8 << 20
        thread.start()
    }
}
