import Foundation
import Kafka
import TestSupport
import Testing

extension EndToEnd {
    /// Issue 5's memory figure: 10,000,000 suppressed userIds loaded from the suppression topic by
    /// the real worker. Too heavy for every CI run; `make bench-suppressions` runs it
    /// (`CONSENT_GATE_MEMORY_TEST=1`) and prints the load time and the worker's peak RSS.
    @Suite("Suppression list memory")
    struct SuppressionMemoryTests {
        static let enabled = ProcessInfo.processInfo.environment["CONSENT_GATE_MEMORY_TEST"] == "1"
        static let count = Int(ProcessInfo.processInfo.environment["CONSENT_GATE_MEMORY_TEST_COUNT"] ?? "") ?? 10_000_000

        @Test("10M suppressed userIds from the topic fit in 400 MB of worker RSS", .enabled(if: enabled), .timeLimit(.minutes(20)))
        func tenMillionFromTopic() async throws {
            let fixture = try WorkerFixture(events: 0, partitions: 2)
            // The mock keeps ~5 MB per partition: spread the records so none is dropped.
            try fixture.cluster.createTopic(name: "memory.suppressions", partitions: 192)
            var config = try String(contentsOfFile: fixture.configPath, encoding: .utf8)
            config = config.replacingOccurrences(of: "suppressionTopic: consent.suppressions", with: "suppressionTopic: memory.suppressions")
            try config.write(toFile: fixture.configPath, atomically: true, encoding: .utf8)

            let bootstrap = fixture.cluster.bootstrapServers
            let count = Self.count
            let produced = ContinuousClock.now
            try await onThread {
                let producer = try KafkaProducer(properties: [
                    "bootstrap.servers": bootstrap, "linger.ms": "50", "batch.num.messages": "10000",
                    "queue.buffering.max.messages": "2000000", "enable.idempotence": "false", "acks": "1",
                ])
                defer { producer.close(timeout: .seconds(120)) }
                var failures = 0
                let value = Array(#"{"regulationId":"bulk","regulationType":"SUPPRESS_ONLY"}"#.utf8)
                try value.withUnsafeBytes { value in
                    for index in 0..<count {
                        try Array("userId:user-\(1_000_000_000 + index)".utf8).withUnsafeBytes { key in
                            try producer.send(topic: "memory.suppressions", key: key, value: value)
                        }
                        if index % 10_000 == 0 { producer.pollDeliveryReports { if $0.error != nil { failures += 1 } } }
                    }
                }
                try producer.flush(timeout: .seconds(300))
                producer.pollDeliveryReports(maxEvents: 1_000_000) { if $0.error != nil { failures += 1 } }
                if failures > 0 { throw HarnessError("\(failures) suppression records not delivered") }
            }
            print("produced \(count) suppression records in \(ContinuousClock.now - produced)")

            let started = ContinuousClock.now
            let worker = try fixture.startWorker()
            try await worker.waitForLog("[ConsentWorker] routing", within: .seconds(900))
            let loadTime = ContinuousClock.now - started
            let status = try String(contentsOfFile: "/proc/\(worker.pid)/status", encoding: .utf8)
            let peakKiB = status.split(separator: "\n").first { $0.hasPrefix("VmHWM:") }
                .flatMap { Int($0.split(separator: " ").dropFirst().first ?? "") } ?? -1
            let client = AdminClient(port: try await worker.adminPort())
            let size = try await client.metric("consent_gate_suppression_list_size")[""] ?? -1
            print("suppression list: \(Int(size)) userIds loaded from the topic in \(loadTime); worker peak RSS \(peakKiB / 1024) MiB")
            #expect(Int(size) == count + WorkerFixture.suppressedUsers.count, "the topic's ids plus the fixture's suppression file")
            #expect(peakKiB > 0 && peakKiB <= 400 * 1000, "peak RSS \(peakKiB) KiB")
            worker.kill(SIGTERM)
            #expect(try await worker.waitForExit(within: .seconds(60)) == 0)
        }
    }
}
