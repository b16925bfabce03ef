import Foundation
import Kafka
import TestSupport
import Testing

extension EndToEnd {
    /// Issue 9, defect 5 end to end: a suppressed subject's invalid events never reach the
    /// dead-letter topic (kept for replay) or the audit topic, and are counted as suppressed.
    @Suite("Suppressed subjects' invalid events", .timeLimit(.minutes(5)))
    struct SuppressedInvalidEndToEndTests {
        static let suppressedInvalid: [GeneratedEvent] = WorkerFixture.suppressedUsers.enumerated().flatMap { index, user in
            [
                #"{"type":"purchase","messageId":"si-\#(index)-1","userId":"\#(user)"}"#,
                #"{"type":"track","messageId":"si-\#(index)-2","userId":"someone","userId":"\#(user)"}"#,
                #"{"type":"track","messageId":"si-\#(index)-3","userId":"\#(user)","context":null}"#,
                #"{"type":"track","messageId":"si-\#(index)-4","userId":"\#(user)","context":{"consent":{"categoryPreferences":{"Analytics":"yes"}}}}"#,
                #"{"messageId":"si-\#(index)-5","userId":"\#(user)","properties":{"email":"\#(user)@example.com"}}"#,
            ].map { GeneratedEvent(key: user, value: $0) }
        }
        /// The same kinds of event from subjects nobody suppressed: these are dead-lettered.
        static let deadLetters: [GeneratedEvent] = ["user-4", "user-18"].enumerated().flatMap { index, user in
            [
                #"{"type":"purchase","messageId":"dl-\#(index)-1","userId":"\#(user)"}"#,
                #"{"type":"track","messageId":"dl-\#(index)-2","userId":"\#(user)","context":null}"#,
                #"{"type":"track","messageId":"dl-\#(index)-3","userId":"\#(WorkerFixture.suppressedUsers[0])","#,  // unreadable
            ].map { GeneratedEvent(key: user, value: $0) }
        }

        @Test("No DLQ or audit record for a suppressed subject; the suppressed metric counts the drops")
        func suppressedInvalidEventsLeaveNoTrace() async throws {
            let fixture = try WorkerFixture(events: 2_000, partitions: 4, extra: Self.suppressedInvalid + Self.deadLetters)
            try fixture.cluster.createTopic(name: "consent.audit", partitions: 4)
            let config = try String(contentsOfFile: fixture.configPath, encoding: .utf8)
            try config.replacingOccurrences(of: "  ingestTopic: events.raw", with: "  ingestTopic: events.raw\n  auditTopic: consent.audit")
                .write(toFile: fixture.configPath, atomically: true, encoding: .utf8)
            try await fixture.preload()
            let worker = try fixture.startWorker()
            let client = AdminClient(port: try await worker.adminPort())
            try await fixture.waitUntilCommitted(within: .seconds(120))
            let dropped = try await client.metric("consent_gate_events_dropped_total")
            worker.kill(SIGTERM)
            #expect(try await worker.waitForExit(within: .seconds(30)) == 0)

            // check agrees: the suppressed subjects' invalid events print "suppressed":true.
            let decided = try runBinary(["check", "--config", fixture.configPath, "--suppressions", fixture.suppressionsPath, fixture.eventsPath])
            let lines = decided.stdout.split(separator: "\n").map(String.init)
            let firstExtra = fixture.events.count - Self.suppressedInvalid.count - Self.deadLetters.count
            for offset in Self.suppressedInvalid.indices {
                #expect(lines[firstExtra + offset].hasSuffix(#","suppressed":true}"#), "\(lines[firstExtra + offset])")
            }

            let topics = try await fixture.readAll(["events.dlq"])
            let suppressedUsers = Set(WorkerFixture.suppressedUsers)
            let leaked = topics["events.dlq"]!.filter { $0.event.map { suppressedUsers.contains(fixture.events[$0].key) } ?? true }
            #expect(leaked.isEmpty, "\(leaked.count) dead letters of suppressed subjects")
            let deadIds = Set(topics["events.dlq"]!.compactMap { $0.event.map { fixture.events[$0].value } })
            for event in Self.deadLetters { #expect(deadIds.contains(event.value), "\(event.value) was dead-lettered") }
            #expect(try await fixture.verifyOutputs() == 0)

            // The audit stream names no event of a suppressed subject.
            let suppressedMessageIds = Set(fixture.events.filter { suppressedUsers.contains($0.key) }.compactMap { event in
                (try? JSONSerialization.jsonObject(with: Data(event.value.utf8)) as? [String: Any])?["messageId"] as? String
            })
            let audit = try await readValues(topic: "consent.audit", bootstrap: fixture.cluster.bootstrapServers)
            #expect(!audit.isEmpty, "other subjects' drops are audited")
            for value in audit {
                let record = try #require(try JSONSerialization.jsonObject(with: Data(value.utf8)) as? [String: Any])
                #expect(record["reason"] as? String != "suppressed", "\(value)")
                #expect(!suppressedMessageIds.contains(record["messageId"] as? String ?? ""), "\(value)")
            }

            // Every drop is counted: per destination, the subjects' valid and invalid events.
            let perDestination = lines.filter { $0.hasSuffix(#","suppressed":true}"#) || $0.contains(#""s3-archive":"suppressed""#) }.count
            #expect(perDestination > Self.suppressedInvalid.count, "the generator produced valid events of suppressed users too")
            for destination in WorkerFixture.destinations {
                #expect(Int(dropped["destination=\"\(destination)\",reason=\"suppressed\""] ?? -1) == perDestination, "\(destination)")
            }
        }

        private func readValues(topic: String, bootstrap: String) async throws -> [String] {
            try await onThread {
                let consumer = try KafkaConsumer(groupID: "reader-\(UUID().uuidString.prefix(8))", properties: ["bootstrap.servers": bootstrap])
                defer { consumer.close() }
                let admin = try KafkaAdmin(properties: ["bootstrap.servers": bootstrap])
                let total = try admin.watermarks(topic: topic, timeout: .seconds(10)).reduce(0) { $0 + Int($1.high) }
                try consumer.subscribe(topics: [topic])
                var values: [String] = []
                let deadline = ContinuousClock.now + .seconds(60)
                while values.count < total {
                    guard ContinuousClock.now < deadline else { throw HarnessError("\(topic): read \(values.count) of \(total)") }
                    for message in try consumer.consume(maxMessages: 5_000, timeout: .milliseconds(200)) where message.error == nil {
                        values.append(message.value.map { String(decoding: $0, as: UTF8.self) } ?? "")
                    }
                }
                return values
            }
        }
    }
}
