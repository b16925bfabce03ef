import Foundation
import Kafka
import Synchronization
import TestSupport
import Testing

/// Runs the built `consent-gate dev-broker` as a user would and talks Kafka to it.
@Suite("dev-broker")
struct DevBrokerTests {
    @Test("Starts, serves a producer and a consumer, and stops with exit 0 on SIGTERM")
    func serveAndStop() async throws {
        let bootstrapFile = FileManager.default.temporaryDirectory.appendingPathComponent("dev-broker-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: bootstrapFile) }
        let broker = try DevBrokerProcess(["--brokers", "2", "--topic", "demo.events:3", "--topic", "demo.other:1", "--bootstrap-file", bootstrapFile])
        defer { broker.kill() }

        let bootstrap = try await broker.firstLine(within: .seconds(15))
        #expect(bootstrap.split(separator: ",").count == 2)
        #expect(try String(contentsOfFile: bootstrapFile, encoding: .utf8) == bootstrap + "\n")

        let (partitions, received) = try await onThread {
            let admin = try KafkaAdmin(properties: ["bootstrap.servers": bootstrap])
            let partitions = try admin.partitionCount(topic: "demo.events", timeout: .seconds(5))

            let producer = try KafkaProducer(properties: ["bootstrap.servers": bootstrap])
            for i in 0..<20 {
                let value = Array("event-\(i)".utf8)
                try value.withUnsafeBytes { try producer.send(topic: "demo.events", key: nil, value: $0, opaque: UInt(i)) }
            }
            try producer.flush(timeout: .seconds(10))
            var delivered = 0
            producer.pollDeliveryReports { if $0.error == nil { delivered += 1 } }
            producer.close()
            guard delivered == 20 else { throw HarnessError("\(delivered) of 20 messages delivered") }

            let consumer = try KafkaConsumer(
                groupID: "dev-broker-test", properties: ["bootstrap.servers": bootstrap, "heartbeat.interval.ms": "100"])
            defer { consumer.close() }
            try consumer.subscribe(topics: ["demo.events"])
            var received: [String] = []
            let deadline = ContinuousClock.now + .seconds(20)
            while received.count < 20, ContinuousClock.now < deadline {
                for message in try consumer.consume(maxMessages: 100, timeout: .milliseconds(100)) {
                    if let error = message.error { throw error }
                    received.append(String(decoding: message.value!, as: UTF8.self))
                }
            }
            return (partitions, received)
        }
        #expect(partitions == 3)
        #expect(Set(received) == Set((0..<20).map { "event-\($0)" }) && received.count == 20)

        let status = try await broker.terminate(within: .seconds(10))
        #expect(status == 0)
    }

    @Test("A malformed --topic is rejected with a message and a non-zero exit", arguments: ["events", "events:", "events:zero", ":3", "events:-1"])
    func badTopic(argument: String) async throws {
        let broker = try DevBrokerProcess(["--topic", argument])
        defer { broker.kill() }
        let status = try await broker.exitStatus(within: .seconds(10))
        #expect(status != 0)
        #expect(broker.standardError.contains("NAME:PARTITIONS") || broker.standardError.contains("PARTITIONS must be"))
    }
}

/// `consent-gate dev-broker` as a child process, with its output collected as it arrives.
final class DevBrokerProcess: Sendable {
    private let process: Process
    /// Bytes read so far from one of the child's output pipes.
    private final class Collected: Sendable {
        let data = Mutex(Data())
    }

    private let output = Collected()
    private let errors = Collected()

    init(_ arguments: [String]) throws {
        process = Process()
        process.executableURL = consentGateBinary
        process.arguments = ["dev-broker"] + arguments
        let stdout = Pipe()
        let stderr = Pipe()
        process.standardOutput = stdout
        process.standardError = stderr
        try process.run()
        Self.drain(stdout.fileHandleForReading, into: output)
        Self.drain(stderr.fileHandleForReading, into: errors)
    }

    var standardError: String { errors.data.withLock { String(decoding: $0, as: UTF8.self) } }

    /// The first line on standard output, polling until the deadline.
    func firstLine(within timeout: Duration) async throws -> String {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let line = output.data.withLock({ data in
                data.firstIndex(of: UInt8(ascii: "\n")).map { String(decoding: data[..<$0], as: UTF8.self) }
            }) {
                return line
            }
            guard process.isRunning else { throw HarnessError("dev-broker exited early: \(standardError)") }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw HarnessError("no bootstrap line within \(timeout); stderr: \(standardError)")
    }

    /// Sends SIGTERM and returns the exit status.
    func terminate(within timeout: Duration) async throws -> Int32 {
        process.terminate()
        return try await exitStatus(within: timeout)
    }

    /// Waits for the process to exit; a signal death is reported as 128 + signal.
    func exitStatus(within timeout: Duration) async throws -> Int32 {
        let deadline = ContinuousClock.now + timeout
        while process.isRunning {
            guard ContinuousClock.now < deadline else { throw HarnessError("dev-broker still running after \(timeout)") }
            try await Task.sleep(for: .milliseconds(20))
        }
        return process.terminationReason == .exit ? process.terminationStatus : 128 + process.terminationStatus
    }

    func kill() {
        if process.isRunning { Foundation.kill(process.processIdentifier, SIGKILL) }
    }

    private static func drain(_ handle: FileHandle, into buffer: Collected) {
        Thread {
            while case let chunk = handle.availableData, !chunk.isEmpty {
                buffer.data.withLock { $0.append(chunk) }
            }
        }.start()
    }
}
