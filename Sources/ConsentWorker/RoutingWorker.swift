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

    public init(settings: WorkerSettings, state: RoutingState, metrics: WorkerMetrics = WorkerMetrics(), logger: Logger) {
        self.settings = settings
        self.state = state
        self.metrics = metrics
        self.logger = logger
        self.pipeline = RoutingPipeline(settings: settings, state: state, metrics: metrics, logger: logger)
    }

    /// True while the worker is in its consumer group and routing.
    public var isRunning: Bool { pipeline.isRunning.load(ordering: .acquiring) }

    /// Checks Kafka (see `checkKafka`), loads the shared state, then routes until a graceful
    /// shutdown, which may also arrive during start-up.
    public func run() async throws {
        let pipeline = self.pipeline
        let connectTimeout = settings.connectTimeout
        try await withGracefulShutdownHandler {
            try await runOnThread(name: "consent-gate.consumer") { () throws(WorkerError) in
                try pipeline.checkTopics(timeout: connectTimeout)
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
