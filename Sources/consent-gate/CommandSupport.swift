import ArgumentParser
import ConsentConfig
import ConsentEngine
import Foundation
import Logging

/// What `check`, `run` and `demo` share: loading the configuration, compiling the policy and
/// reading a suppression file, with errors that exit 2 naming the file and key.
enum CommandSupport {
    /// Loads, applies `CONSENT_GATE_BROKERS`, and compiles; exits 2 with the message on error.
    static func loadConfiguration(_ path: String) -> (Configuration, CompiledPolicy) {
        do {
            let configuration = try Configuration.load(file: path).applyingEnvironment(ProcessInfo.processInfo.environment)
            let policy = try CompiledPolicy(configuration.policy)
            return (configuration, policy)
        } catch let error as ConfigurationError {
            exit(2, error.description)
        } catch let error as PolicyViolations {
            exit(2, "\(path): \(error)")
        } catch {
            exit(2, "\(path): \(error)")
        }
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
        FileHandle.standardError.write(Data((message + "\n").utf8))
        Foundation.exit(status)
    }

    /// Logs to standard error; `CONSENT_GATE_LOG_LEVEL` sets the level (default info) and
    /// `CONSENT_GATE_LOG_FORMAT=json` switches to one JSON object per line.
    static func bootstrapLogging() {
        let environment = ProcessInfo.processInfo.environment
        let level = environment["CONSENT_GATE_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .info
        let json = environment["CONSENT_GATE_LOG_FORMAT"] == "json"
        LoggingSystem.bootstrap { label in
            if json { return JSONLogHandler(label: label, logLevel: level) }
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
    }
}
