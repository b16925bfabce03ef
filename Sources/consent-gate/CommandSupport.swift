import ArgumentParser
import ConsentConfig
import ConsentEngine
import Foundation
import Kafka
import Logging

/// What `check`, `run` and `demo` share: loading the configuration, compiling the policy and
/// reading a suppression file, with errors that exit 2 naming the file and key.
enum CommandSupport {
    /// A configuration file as every command uses it.
    struct Loaded {
        var configuration: Configuration
        var policy: CompiledPolicy
        /// `kafka.client`, `kafka.consumer`, `kafka.producer` with references resolved, checked
        /// by librdkafka the way the clients will apply them.
        var clients: KafkaClientConfig
        /// `admin.token`, resolved; nil when not in the file.
        var adminToken: ResolvedValue?
    }

    /// Loads, applies `CONSENT_GATE_BROKERS`, compiles, resolves `${env:...}`/`${file:...}`
    /// values and checks the Kafka properties; exits 2 with the message on error. `check`,
    /// `run` and the other commands share it, so a file `check` accepts is one `run` accepts.
    static func loadConfiguration(_ path: String) -> Loaded {
        let environment = ProcessInfo.processInfo.environment
        do {
            let configuration = try Configuration.load(file: path).applyingEnvironment(environment)
            let policy = try CompiledPolicy(configuration.policy)
            let resolved = try configuration.resolveValues(file: path, environment: environment)
            let clients = KafkaClientConfig(
                common: KafkaProperties(resolved.client), consumer: KafkaProperties(resolved.consumer),
                producer: KafkaProperties(resolved.producer))
            let issues = clients.issues()
            guard issues.isEmpty else {
                exit(2, issues.map { "\(path): \(key(of: $0)): \($0)" }.joined(separator: "\n"))
            }
            return Loaded(configuration: configuration, policy: policy, clients: clients, adminToken: resolved.adminToken)
        } catch let error as ConfigurationError {
            exit(2, error.description)
        } catch let error as PolicyViolations {
            exit(2, "\(path): \(error)")
        } catch {
            exit(2, "\(path): \(error)")
        }
    }

    /// The configuration key an issue is about, e.g. `kafka.producer.lingr.ms`.
    private static func key(of issue: KafkaClientConfig.Issue) -> String {
        guard let section = issue.section, let property = issue.property else { return "kafka" }
        let name = section == .common ? "client" : section.rawValue
        return "kafka.\(name).\(property)"
    }

    /// One suppressed subject per line; which identifiers it applies to comes from the policy.
    static func loadSuppressions(_ path: String?, identifiers: [SuppressionIdentifier]) throws -> Suppressions {
        try readSuppressions(path, identifiers: identifiers).build()
    }

    /// The same, left as a builder that more subjects can be loaded into.
    static func readSuppressions(_ path: String?, identifiers: [SuppressionIdentifier]) throws -> Suppressions.Builder {
        var builder = Suppressions.Builder(identifiers: identifiers)
        guard let path else { return builder }
        try LineReader(path: path).forEachLine(maxLineBytes: Int(UInt16.max)) { line in
            guard case .text(let subject) = line, !subject.isEmpty else { return }
            builder.insert(subject: subject)
        }
        return builder
    }

    /// Prints `message` to standard error and exits with `status`.
    static func exit(_ status: Int32, _ message: String) -> Never {
        StandardError.write(Data((message + "\n").utf8))
        Foundation.exit(status)
    }

    /// Environment variable with the log level: trace, debug, info, notice, warning, error, critical.
    static let logLevelVariable = "CONSENT_GATE_LOG_LEVEL"

    /// Logs to standard error; `CONSENT_GATE_LOG_LEVEL` sets the level (default info) and
    /// `CONSENT_GATE_LOG_FORMAT=json` switches to one JSON object per line.
    static func bootstrapLogging() {
        let environment = ProcessInfo.processInfo.environment
        var level = Logger.Level.info
        if let text = environment[logLevelVariable], !text.isEmpty {
            guard let parsed = Logger.Level(rawValue: text.lowercased()) else {
                exit(2, "consent-gate: \(logLevelVariable)=\(text) is not a log level: expected one of "
                    + Logger.Level.allCases.map(\.rawValue).joined(separator: ", "))
            }
            level = parsed
        }
        let json = environment["CONSENT_GATE_LOG_FORMAT"] == "json"
        LoggingSystem.bootstrap { label in
            if json { return JSONLogHandler(label: label, logLevel: level) }
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
    }
}

extension KafkaProperties {
    /// Resolved configuration values in their (sorted) order; secrets stay marked as such.
    init(_ values: [(name: String, value: ResolvedValue)]) {
        self.init()
        for (name, value) in values {
            if value.isSecret { setSecret(name, value.value) } else { self[name] = value.value }
        }
    }
}

/// Standard error through plain `write(2)`: a closed pipe (`consent-gate run 2>&1 | head`) must
/// not end the process, and Foundation's `FileHandle.write` traps on EPIPE. SIGPIPE is ignored
/// at start (`ConsentGate.main`), so the failed write just returns EPIPE, which is dropped.
enum StandardError {
    static func write(_ data: Data) {
        data.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let written = Glibc.write(STDERR_FILENO, buffer.baseAddress! + offset, buffer.count - offset)
                if written < 0 && errno == EINTR { continue }
                guard written > 0 else { return }  // EPIPE, EBADF, ...: nobody is listening
                offset += written
            }
        }
    }
}
