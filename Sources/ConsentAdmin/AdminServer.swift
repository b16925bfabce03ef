import Hummingbird
import Logging
import ServiceLifecycle

/// The admin listener as a service-lifecycle `Service`: add it to the worker's `ServiceGroup`;
/// it stops accepting connections and finishes in-flight requests on graceful shutdown.
public struct AdminServer: Service {
    private let application: Application<RouterResponder<BasicRequestContext>>

    /// - Parameters:
    ///   - host: from `AdminSettings.listen` (loopback by default); an IPv6 address may come
    ///     bracketed, and an empty host means all IPv4 interfaces.
    ///   - port: 0 asks the system for a free port; `onServerRunning` receives the bound one.
    ///   - onServerRunning: called once the socket listens, with the bound port, so callers can
    ///     log it and tests can connect.
    public init(
        host: String,
        port: Int,
        api: AdminAPI,
        logger: Logger,
        onServerRunning: @escaping @Sendable (_ port: Int) async -> Void = { _ in }
    ) {
        application = Application(
            router: api.router(),
            configuration: .init(address: .hostname(Self.bindHost(host), port: port), serverName: nil),
            onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? port) },
            logger: Logger(label: logger.label) { _ in ShutdownNoiseFilter(wrapped: logger.handler) })
    }

    public func run() async throws {
        try await application.run()
    }

    /// `[::1]` (as `ListenAddress` spells IPv6) to `::1`; empty to `0.0.0.0`.
    static func bindHost(_ host: String) -> String {
        if host.isEmpty { return "0.0.0.0" }
        if host.hasPrefix("["), host.hasSuffix("]") { return String(host.dropFirst().dropLast()) }
        return host
    }
}

/// Hummingbird 2.x logs two lines at error level on every normal stop of a service group: the
/// listener task is cancelled once the group has shut down gracefully ("Waiting on child
/// channel: CancellationError()"), and its graceful-shutdown task then closes a channel that is
/// already closed ("Server shutdown error: Already closed"). Neither is a failure, and alerts
/// on error-level lines must not fire on every rollout, so exactly these two go to debug level.
struct ShutdownNoiseFilter: LogHandler {
    var wrapped: any LogHandler

    var metadata: Logger.Metadata {
        get { wrapped.metadata }
        set { wrapped.metadata = newValue }
    }

    var logLevel: Logger.Level {
        get { wrapped.logLevel }
        set { wrapped.logLevel = newValue }
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { wrapped[metadataKey: key] }
        set { wrapped[metadataKey: key] = newValue }
    }

    static func isShutdownNoise(_ message: String) -> Bool {
        message == "Waiting on child channel: CancellationError()" || message == "Server shutdown error: Already closed"
    }

    func log(event: LogEvent) {
        guard event.level >= .error, Self.isShutdownNoise("\(event.message)") else {
            wrapped.log(event: event)
            return
        }
        guard wrapped.logLevel <= .debug else { return }
        var demoted = event
        demoted.level = .debug
        wrapped.log(event: demoted)
    }
}
