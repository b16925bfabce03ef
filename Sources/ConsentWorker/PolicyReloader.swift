import ConsentConfig
import ConsentEngine
import Foundation
import Logging
import Metrics
import ServiceLifecycle

/// Reloads the policy on SIGHUP and when the file changes (a Kubernetes ConfigMap update swaps
/// a symlink, which changes the inode): validate, compile, then swap atomically. An invalid
/// file is rejected with an error log and a metric, and the running policy stays.
public struct PolicyReloader: Service {
    /// What a reload attempt did.
    public enum Outcome: Sendable, Equatable {
        case applied(version: Int)
        /// The file was rejected; the message names file, key and problem.
        case rejected(String)
    }

    private let path: String
    private let state: RoutingState
    private let environment: [String: String]
    private let pollInterval: Duration
    private let logger: Logger

    public init(
        path: String, state: RoutingState, environment: [String: String] = ProcessInfo.processInfo.environment,
        pollInterval: Duration = .seconds(2), logger: Logger
    ) {
        self.path = path
        self.state = state
        self.environment = environment
        self.pollInterval = pollInterval
        self.logger = logger
    }

    /// Validates the file and, if it is valid, makes it the policy for every event decided
    /// after this returns. Kafka settings are read at start only; a change there is logged.
    @discardableResult
    public func reload() -> Outcome {
        do {
            let configuration = try Configuration.load(file: path).applyingEnvironment(environment)
            let compiled = try CompiledPolicy(configuration.policy)
            state.replacePolicy(compiled, destinationTopics: compiled.destinations.indices.map(configuration.topic(forDestination:)))
            let version = state.policy.version
            Counter(label: "consent_gate_config_reloads_total", dimensions: [("result", "ok")]).increment()
            Gauge(label: "consent_gate_config_last_reload_success").record(1)
            logger.info("policy reloaded", metadata: ["file": "\(path)", "version": "\(version)", "destinations": "\(compiled.destinations.count)"])
            return .applied(version: version)
        } catch {
            Counter(label: "consent_gate_config_reloads_total", dimensions: [("result", "failed")]).increment()
            Gauge(label: "consent_gate_config_last_reload_success").record(0)
            logger.error("policy reload rejected; the previous policy stays in force", metadata: ["error": "\(error)"])
            return .rejected("\(error)")
        }
    }

    public func run() async throws {
        // Every series exists from the first scrape, so alerts on them evaluate from the start.
        for result in ["ok", "failed"] {
            Counter(label: "consent_gate_config_reloads_total", dimensions: [("result", result)]).increment(by: 0)
        }
        Gauge(label: "consent_gate_config_last_reload_success").record(1)
        // SIGHUP and a poll timer feed one stream, so a single loop handles both.
        let (triggers, continuation) = AsyncStream<Bool>.makeStream(bufferingPolicy: .bufferingNewest(1))
        signal(SIGHUP, SIG_IGN)
        let hangup = DispatchSource.makeSignalSource(signal: SIGHUP, queue: .global())
        hangup.setEventHandler { continuation.yield(true) }
        let timer = DispatchSource.makeTimerSource(queue: .global())
        let interval = Int(pollInterval.components.seconds * 1000 + pollInterval.components.attoseconds / 1_000_000_000_000_000)
        timer.schedule(deadline: .now() + .milliseconds(interval), repeating: .milliseconds(interval))
        timer.setEventHandler { continuation.yield(false) }
        hangup.resume()
        timer.resume()
        defer {
            hangup.cancel()
            timer.cancel()
        }
        var fingerprint = Self.fingerprint(path)
        for await isHangup in triggers.cancelOnGracefulShutdown() {
            let current = Self.fingerprint(path)
            guard isHangup || current != fingerprint else { continue }
            logger.info("reloading the policy", metadata: ["file": "\(path)", "trigger": "\(isHangup ? "SIGHUP" : "file change")"])
            fingerprint = current
            reload()
        }
    }

    /// Inode, size and modification time of the file behind `path` (symlinks followed).
    private static func fingerprint(_ path: String) -> [Int] {
        var info = stat()
        guard stat(path, &info) == 0 else { return [] }
        return [Int(info.st_ino), Int(info.st_size), info.st_mtim.tv_sec, info.st_mtim.tv_nsec]
    }
}
