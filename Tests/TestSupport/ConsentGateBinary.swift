import Foundation

/// The `consent-gate` binary built next to this test bundle, or `CONSENT_GATE_BINARY` (e.g. a
/// release build for `make bench-suppressions`).
package let consentGateBinary: URL = {
    if let path = ProcessInfo.processInfo.environment["CONSENT_GATE_BINARY"] { return URL(fileURLWithPath: path) }
    let bundle = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    let candidates = [bundle, Bundle.main.bundleURL, Bundle.main.bundleURL.deletingLastPathComponent()]
    return candidates.map { $0.appendingPathComponent("consent-gate") }
        .first { FileManager.default.isExecutableFile(atPath: $0.path) } ?? bundle.appendingPathComponent("consent-gate")
}()

/// Runs the binary to completion, capturing its output.
package func runBinary(_ arguments: [String], environment: [String: String] = [:], stdin: Data? = nil) throws -> (status: Int32, stdout: String, stderr: String) {
    let process = Process()
    process.executableURL = consentGateBinary
    process.arguments = arguments
    process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
    let out = Pipe(), err = Pipe()
    process.standardOutput = out
    process.standardError = err
    if let stdin {
        let input = Pipe()
        process.standardInput = input
        try process.run()
        input.fileHandleForWriting.write(stdin)
        try input.fileHandleForWriting.close()
    } else {
        process.standardInput = FileHandle.nullDevice
        try process.run()
    }
    // Read stderr concurrently with stdout so a full pipe cannot block the child.
    nonisolated(unsafe) var errData = Data()
    let errRead = DispatchGroup()
    DispatchQueue.global().async(group: errRead) { errData = err.fileHandleForReading.readDataToEndOfFile() }
    let outData = out.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    errRead.wait()
    return (process.terminationStatus, String(decoding: outData, as: UTF8.self), String(decoding: errData, as: UTF8.self))
}
