import Logging
import Synchronization

/// Collects every line logged through `logger`, e.g. librdkafka's own log lines routed by the
/// Kafka clients, so tests can assert what was (not) logged.
package final class LogCapture: Sendable {
    package struct Line: Sendable {
        package var level: Logger.Level
        package var message: String
        package var metadata: [String: String]
    }

    private let captured = Mutex<[Line]>([])

    package init() {}

    package var lines: [Line] { captured.withLock { $0 } }

    package var logger: Logger {
        Logger(label: "capture") { [self] _ in Handler(capture: self) }
    }

    fileprivate func append(_ line: Line) { captured.withLock { $0.append(line) } }

    private struct Handler: LogHandler {
        let capture: LogCapture
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            let all = metadata.merging(event.metadata ?? [:]) { $1 }
            capture.append(Line(level: event.level, message: "\(event.message)", metadata: all.mapValues { "\($0)" }))
        }
    }
}
