import Foundation

/// A `consent-gate` child process with its output in a log file.
package final class WorkerProcess: @unchecked Sendable {
    package let process = Process()
    package let log: URL

    package init(arguments: [String], environment: [String: String], log: URL) throws {
        self.log = log
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        let handle = try FileHandle(forWritingTo: log)
        process.executableURL = consentGateBinary
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
    }

    package var pid: Int32 { process.processIdentifier }
    package var logText: String { (try? String(contentsOf: log, encoding: .utf8)) ?? "" }

    package func kill(_ signal: Int32) { _ = Glibc.kill(process.processIdentifier, signal) }

    /// The admin listener's port, from the worker's "admin listening" log line.
    package func adminPort(within timeout: Duration = .seconds(60)) async throws -> Int {
        try await waitForLog("admin listening", within: timeout)
        let line = logText.split(separator: "\n").first { $0.contains("admin listening") } ?? ""
        guard let range = line.range(of: #"address=[^ ]*:(\d+)"#, options: .regularExpression),
            let port = Int(line[range].split(separator: ":").last ?? "")
        else { throw HarnessError("no admin port in: \(line)") }
        return port
    }

    /// Waits until the log contains `text` (e.g. the worker's "partitions assigned").
    package func waitForLog(_ text: String, within timeout: Duration) async throws {
        try await onThread {
            let deadline = ContinuousClock.now + timeout
            while !self.logText.contains(text) {
                guard self.process.isRunning else { throw HarnessError("worker exited before logging \"\(text)\":\n\(self.logText.suffix(2500))") }
                guard ContinuousClock.now < deadline else { throw HarnessError("worker did not log \"\(text)\"") }
                Thread.sleep(forTimeInterval: 0.05)  // polling the log file; no event to await
            }
        }
    }

    /// Waits for exit (bounded) and returns the status; kills the process if it hangs.
    package func waitForExit(within timeout: Duration) async throws -> Int32 {
        let process = self.process
        return try await onThread {
            let deadline = ContinuousClock.now + timeout
            while process.isRunning {
                guard ContinuousClock.now < deadline else {
                    Glibc.kill(process.processIdentifier, SIGKILL)
                    process.waitUntilExit()
                    throw HarnessError("process did not exit within \(timeout)")
                }
                Thread.sleep(forTimeInterval: 0.05)
            }
            return process.terminationStatus
        }
    }

    deinit {
        if process.isRunning { Glibc.kill(process.processIdentifier, SIGKILL) }
    }
}
