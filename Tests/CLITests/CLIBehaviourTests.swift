import Foundation
import TestSupport
import Testing

/// The CLI as a new user meets it (issue 13): version, one-line errors, log settings, option
/// errors with the right usage, and surviving a closed stderr.
@Suite struct CLIBehaviourTests {
    func directory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("consent-gate-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    @Test func versionIsPrinted() throws {
        let result = try runBinary(["--version"])
        #expect(result.status == 0)
        #expect(result.stdout.hasPrefix("consent-gate 0."), "\(result.stdout)")
        #expect(result.stdout.contains("librdkafka 2."))
    }

    @Test func aMissingConfigFileIsOneLine() throws {
        for command in [["check"], ["run"], ["topics", "plan"]] {
            let result = try runBinary(command + ["--config", "/nonexistent/policy.yaml"], stdin: Data())
            #expect(result.status == 2)
            #expect(result.stderr == "/nonexistent/policy.yaml: cannot read file: No such file or directory\n", "\(command): \(result.stderr)")
        }
        let directory = try directory()
        let result = try runBinary(["check", "--config", directory.path], stdin: Data())
        #expect(result.status == 2)
        #expect(result.stderr == "\(directory.path): cannot read file: Is a directory\n", "\(result.stderr)")
    }

    @Test func demoOutsideTheRepositorySaysWhatToDo() throws {
        let process = Process()
        process.executableURL = consentGateBinary
        process.arguments = ["demo"]
        process.currentDirectoryURL = try directory()
        let err = Pipe()
        process.standardError = err
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 2)
        #expect(stderr == "demo: examples/policy.yaml: No such file or directory. Run the demo from the repository root, or pass --config, --sample and --suppressions.\n")
    }

    @Test func anInvalidLogLevelIsAnError() throws {
        let config = try directory().appendingPathComponent("policy.yaml")
        try Data("destinations: []\n".utf8).write(to: config)
        let result = try runBinary(["run", "--config", config.path], environment: ["CONSENT_GATE_LOG_LEVEL": "verbose"])
        #expect(result.status == 2)
        #expect(result.stderr.hasPrefix("consent-gate: CONSENT_GATE_LOG_LEVEL=verbose is not a log level: expected one of trace, debug"), "\(result.stderr)")
    }

    @Test func aWrongTypeShowsTheSubcommandsUsage() throws {
        let result = try runBinary(["suppress", "add", "--config", "x.yaml", "--type", "phone", "u1"])
        #expect(result.status == 64)
        #expect(result.stderr.contains("The value 'phone' is invalid for '--type <type>'"), "\(result.stderr)")
        #expect(result.stderr.contains("userId"))
        #expect(result.stderr.contains("Usage: consent-gate suppress add"), "\(result.stderr)")
        let noIds = try runBinary(["suppress", "remove", "--config", "x.yaml"])
        #expect(noIds.stderr.contains("Usage: consent-gate suppress remove"), "\(noIds.stderr)")
    }

    @Test func jsonLogTimestampsHaveAZone() throws {
        let config = try directory().appendingPathComponent("policy.yaml")
        try Data("destinations: []\nkafka: {brokers: '127.0.0.1:1'}\n".utf8).write(to: config)
        // Fails to connect within a second, logging at least that.
        let result = try runBinary(
            ["run", "--config", config.path, "--connect-timeout", "1"],
            environment: ["CONSENT_GATE_LOG_FORMAT": "json", "CONSENT_GATE_BROKERS": "127.0.0.1:1"])
        let lines = result.stderr.split(separator: "\n").filter { $0.hasPrefix("{") }
        #expect(!lines.isEmpty, "\(result.stderr)")
        for line in lines {
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            let ts = object?["ts"] as? String ?? ""
            #expect(ts.range(of: #"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$"#, options: .regularExpression) != nil, "\(ts)")
        }
    }
}

/// Runs the worker end to end: a clean stop logs nothing at error level, no CONFWARN, and no
/// secret; a closed stderr is survived.
@Suite(.serialized) struct WorkerShutdownTests {
    static let secret = "sekret-\(UUID().uuidString)"

    /// The fixture's policy with a `kafka.client` section: a secret from the environment and
    /// properties of both roles, which must reach only their own clients.
    func fixture() throws -> WorkerFixture {
        let fixture = try WorkerFixture(events: 200, partitions: 4)
        let yaml = try String(contentsOfFile: fixture.configPath, encoding: .utf8).replacingOccurrences(
            of: "kafka:\n",
            with: "kafka:\n  client:\n    client.rack: ${env:CG_TEST_SECRET}\n    fetch.wait.max.ms: 50\n    batch.num.messages: 5000\n    socket.keepalive.enable: true\n")
        try yaml.write(toFile: fixture.configPath, atomically: true, encoding: .utf8)
        return fixture
    }

    @Test func aCleanStopLogsNoErrorNoWarningOfConfigurationAndNoSecret() async throws {
        let fixture = try fixture()
        try await fixture.preload()
        let worker = try fixture.startWorker(environment: ["CG_TEST_SECRET": Self.secret])
        try await worker.waitForLog("admin listening", within: .seconds(60))
        try await fixture.waitUntilCommitted(within: .seconds(60))
        worker.kill(SIGTERM)
        #expect(try await worker.waitForExit(within: .seconds(30)) == 0)
        let log = worker.logText
        let lines = log.split(separator: "\n")
        #expect(lines.contains { $0.contains("admin listening") })
        // swift-log's text format: `<timestamp> <level> <label>: ...`.
        let errors = lines.filter { $0.range(of: #"^\S+ (error|critical) "#, options: .regularExpression) != nil }
        #expect(errors.isEmpty, "\(errors)")
        #expect(lines.contains { $0.range(of: #"^\S+ info "#, options: .regularExpression) != nil })
        #expect(!log.contains("CONFWARN") && !log.contains("will be ignored"), "\(log.suffix(3000))")
        #expect(!log.contains(Self.secret))
    }

    @Test func aClosedStderrIsSurvived() async throws {
        let fixture = try fixture()
        try await fixture.preload()
        let process = Process()
        process.executableURL = consentGateBinary
        process.arguments = ["run", "--config", fixture.configPath]
        process.environment = ProcessInfo.processInfo.environment.merging([
            "CONSENT_GATE_BROKERS": fixture.cluster.bootstrapServers, "CG_TEST_SECRET": Self.secret,
            "CONSENT_GATE_LOG_FORMAT": "json",
        ]) { $1 }
        let err = Pipe()
        process.standardError = err
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        try err.fileHandleForReading.close()
        // The stop logs after this for certain ("stopping", commits): to the closed pipe.
        try await fixture.waitUntilCommitted(within: .seconds(60))
        kill(process.processIdentifier, SIGTERM)
        let status = try await onThread { () -> (Process.TerminationReason, Int32) in
            process.waitUntilExit()
            return (process.terminationReason, process.terminationStatus)
        }
        #expect(status.0 == .exit && status.1 == 0, "terminated by \(status)")
    }
}
