import Foundation
import Kafka
import Testing

/// End-to-end fixture for the worker: an in-process mock cluster with the worker's topics, a
/// config file, generated events preloaded into the ingest topic, and the real
/// `consent-gate` binary run against it. Checks compare what reached every topic with what
/// `consent-gate check` (the same engine, offline) decides for the same events.
package final class WorkerFixture: @unchecked Sendable {
    package static let destinations = ["google-ads", "facebook-capi", "amplitude", "intercom", "braze-email", "s3-archive"]
    package static let suppressedUsers = ["user-3", "user-17", "user-42"]
    package static let adminToken = "test-token-\(UUID().uuidString)"

    package let cluster: MockCluster
    package let directory: URL
    package let events: [GeneratedEvent]
    package let partitions: Int
    package let group: String
    package var configPath: String { directory.appendingPathComponent("policy.yaml").path }
    package var suppressionsPath: String { directory.appendingPathComponent("suppressed.txt").path }
    package var eventsPath: String { directory.appendingPathComponent("events.jsonl").path }

    /// `extra` events follow the generated ones.
    package init(events count: Int, partitions: Int = 16, seed: UInt64 = 1, brokers: Int = 1, extra: [GeneratedEvent] = []) throws {
        cluster = try MockCluster(brokers: brokers)
        self.partitions = partitions
        group = "consent-gate-\(UUID().uuidString.prefix(8))"
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("consent-gate-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        var generator = EventGenerator(seed: seed)
        events = generator.events(count) + extra

        let replication = min(brokers, 3)
        try cluster.createTopic(name: "events.raw", partitions: partitions, replicationFactor: replication)
        try cluster.createTopic(name: "events.dlq", partitions: 4, replicationFactor: replication)
        for destination in Self.destinations {
            try cluster.createTopic(name: "dest.\(destination)", partitions: partitions, replicationFactor: replication)
        }
        try cluster.createTopic(name: "consent.suppressions", partitions: 1, replicationFactor: replication)
        try cluster.createTopic(name: "consent.regulations", partitions: 1, replicationFactor: replication)
        try cluster.createTopic(name: "consent.subscriptions", partitions: partitions, replicationFactor: replication)
        try writeConfig()
        try Self.suppressedUsers.map { $0 + "\n" }.joined().write(toFile: suppressionsPath, atomically: true, encoding: .utf8)
        try events.map { $0.value + "\n" }.joined().write(toFile: eventsPath, atomically: true, encoding: .utf8)
    }

    deinit {
        cluster.shutdown()
        // CONSENT_GATE_KEEP_TEST_FILES=1 keeps configs, events and worker logs for debugging.
        if ProcessInfo.processInfo.environment["CONSENT_GATE_KEEP_TEST_FILES"] != "1" {
            try? FileManager.default.removeItem(at: directory)
        }
    }

    private func writeConfig() throws {
        let yaml = """
            kafka:
              brokers: "unused:9092"
              groupId: \(group)
              ingestTopic: events.raw
              deadLetterTopic: events.dlq
              suppressionTopic: consent.suppressions
              subscriptionTopic: consent.subscriptions
              consumer:
                session.timeout.ms: 6000
                heartbeat.interval.ms: 200
              producer:
                linger.ms: 5
            categories: [Advertising, Analytics, Functional, DataSharing]
            suppression:
              identifiers: [userId]
            destinations:
              - {id: google-ads, categories: [Advertising], integrationName: Google Ads, sale: true}
              - {id: facebook-capi, categories: [Advertising, DataSharing], sale: true}
              - {id: amplitude, categories: [Analytics], integrationName: Amplitude}
              - {id: intercom, categories: [Functional, Analytics], match: any}
              - {id: braze-email, categories: [Functional], channel: email}
              - {id: s3-archive}
            admin:
              listen: 127.0.0.1:0
            """
        try yaml.write(toFile: configPath, atomically: true, encoding: .utf8)
    }

    /// Produces the generated events (or a range of them) to the ingest topic, keyed by
    /// subject, optionally spread over `duration` so a worker is mid-stream meanwhile.
    package func preload(_ range: Range<Int>? = nil, over duration: Duration = .zero) async throws {
        let events = Array(self.events[range ?? self.events.indices])
        let bootstrap = cluster.bootstrapServers
        try await onThread {
            let start = ContinuousClock.now
            let perEvent = duration / max(1, events.count)
            let producer = try KafkaProducer(properties: ["bootstrap.servers": bootstrap, "linger.ms": "5"])
            defer { producer.close() }
            var failures = 0
            var reported = 0
            for (index, event) in events.enumerated() {
                try producer.send(topic: "events.raw", key: event.key, value: event.value)
                reported += producer.pollDeliveryReports { if $0.error != nil { failures += 1 } }
                if duration > .zero, index % 100 == 99 {
                    let due = start + perEvent * (index + 1)
                    if due > .now { Thread.sleep(forTimeInterval: (due - .now).timeInterval) }
                }
            }
            let deadline = ContinuousClock.now + .seconds(60)
            while reported < events.count {
                guard ContinuousClock.now < deadline else { throw HarnessError("preload: \(reported) of \(events.count) acknowledged") }
                reported += producer.pollDeliveryReports(timeout: .milliseconds(100)) { if $0.error != nil { failures += 1 } }
            }
            if failures > 0 { throw HarnessError("preload: \(failures) events not delivered") }
        }
    }

    /// Workers started so far, so a failed wait can show what they logged.
    private var workers: [(name: String, process: WorkerProcess)] = []

    /// Starts `consent-gate run` against the cluster.
    package func startWorker(name: String = "worker", arguments: [String] = [], environment: [String: String] = [:]) throws -> WorkerProcess {
        let worker = try WorkerProcess(
            arguments: ["run", "--config", configPath, "--suppressions", suppressionsPath] + arguments,
            environment: ["CONSENT_GATE_BROKERS": cluster.bootstrapServers, "CONSENT_GATE_ADMIN_TOKEN": Self.adminToken]
                .merging(environment) { $1 },
            log: directory.appendingPathComponent("\(name)-\(UUID().uuidString.prefix(4)).log"))
        workers.append((name, worker))
        return worker
    }

    /// Throws when the most recently started worker has exited: waiting on it is pointless.
    package func expectLatestWorkerRunning() throws {
        if let latest = workers.last, !latest.process.process.isRunning {
            throw HarnessError("worker \(latest.name) exited with status \(latest.process.process.terminationStatus)\n\(workerLogs)")
        }
    }

    /// The end of every worker's log, for failure messages.
    package var workerLogs: String {
        workers.map { "--- \($0.name) (pid \($0.process.pid)):\n\($0.process.logText.suffix(2500))" }.joined(separator: "\n")
    }

    /// Messages in `topic` now (sum of high watermarks).
    package func messageCount(_ topic: String) throws -> Int {
        let admin = try KafkaAdmin(properties: ["bootstrap.servers": cluster.bootstrapServers])
        return try admin.watermarks(topic: topic, timeout: .seconds(10)).reduce(0) { $0 + Int($1.high) }
    }

    /// Waits until at least `count` messages are in `topic`: the worker is routing.
    package func waitForMessages(in topic: String, atLeast count: Int, within timeout: Duration) async throws {
        try await onThread {
            let deadline = ContinuousClock.now + timeout
            while try self.messageCount(topic) < count {
                try self.expectLatestWorkerRunning()
                guard ContinuousClock.now < deadline else { throw HarnessError("\(topic) did not reach \(count) messages\n\(self.workerLogs)") }
                Thread.sleep(forTimeInterval: 0.05)  // polling the broker's view; no event to await
            }
        }
    }

    /// Waits until the latest worker routes and the group has committed every ingest
    /// partition up to its high watermark.
    package func waitUntilCommitted(within timeout: Duration) async throws {
        try await workers.last?.process.waitForLog("[ConsentWorker] partitions assigned", within: timeout)
        let bootstrap = cluster.bootstrapServers
        let group = self.group
        try await onThread {
            let admin = try KafkaAdmin(properties: ["bootstrap.servers": bootstrap])
            let deadline = ContinuousClock.now + timeout
            var last: [KafkaAdmin.PartitionLag] = []
            while ContinuousClock.now < deadline {
                try self.expectLatestWorkerRunning()
                if let lag = try? admin.lag(group: group, topic: "events.raw", timeout: .seconds(5)) {
                    last = lag
                    if lag.count == self.partitions, lag.allSatisfy({ $0.lag == 0 }) { return }
                }
                Thread.sleep(forTimeInterval: 0.2)  // polling the broker's view; no event to await
            }
            throw HarnessError("group \(group) not caught up: \(last.filter { $0.lag != 0 }.prefix(4))\n\(self.workerLogs)")
        }
    }

    /// Every message of these topics, read from the beginning by one consumer (one group
    /// join), per topic in partition/offset order.
    package func readAll(_ topics: [String]) async throws -> [String: [Output]] {
        let bootstrap = cluster.bootstrapServers
        let byValue = Dictionary(events.enumerated().map { ($1.value, $0) }, uniquingKeysWith: { first, _ in first })
        return try await onThread {
            let admin = try KafkaAdmin(properties: ["bootstrap.servers": bootstrap])
            let total = try topics.reduce(0) { sum, topic in
                try admin.watermarks(topic: topic, timeout: .seconds(10)).reduce(sum) { $0 + Int($1.high - $1.low) }
            }
            var outputs = Dictionary(uniqueKeysWithValues: topics.map { ($0, [Output]()) })
            guard total > 0 else { return outputs }
            let consumer = try KafkaConsumer(
                groupID: "reader-\(UUID().uuidString.prefix(8))",
                properties: ["bootstrap.servers": bootstrap, "auto.offset.reset": "earliest"])
            defer { consumer.close() }
            try consumer.subscribe(topics: topics)
            var read = 0
            let deadline = ContinuousClock.now + .seconds(60)
            while read < total {
                guard ContinuousClock.now < deadline else { throw HarnessError("read \(topics): \(read) of \(total)") }
                for message in try consumer.consume(maxMessages: 5000, timeout: .milliseconds(200)) {
                    if let error = message.error { throw error }
                    let value = message.value.map { String(decoding: $0, as: UTF8.self) } ?? ""
                    var headers: [String: String] = [:]
                    if let messageHeaders = message.headers {
                        for header in messageHeaders {
                            headers[header.name] = header.value.map { String(decoding: $0, as: UTF8.self) }
                        }
                    }
                    outputs[message.topic, default: []].append(Output(
                        event: byValue[value], partition: message.partition, offset: message.offset,
                        key: message.key.map { String(decoding: $0, as: UTF8.self) } ?? "", headers: headers))
                    read += 1
                }
            }
            return outputs.mapValues { $0.sorted { ($0.partition, $0.offset) < ($1.partition, $1.offset) } }
        }
    }

    /// What `consent-gate check` decides for the generated events: per destination the
    /// delivered event indices, and the invalid ones.
    package func expectedRouting() throws -> (deliveries: [String: Set<Int>], invalid: Set<Int>) {
        let result = try runBinary(["check", "--config", configPath, "--suppressions", suppressionsPath, eventsPath])
        guard result.status == 0 else { throw HarnessError("check exited \(result.status): \(result.stderr)") }
        var deliveries = Dictionary(uniqueKeysWithValues: Self.destinations.map { ($0, Set<Int>()) })
        var invalid = Set<Int>()
        let lines = result.stdout.split(separator: "\n")
        guard lines.count == events.count else { throw HarnessError("check printed \(lines.count) lines for \(events.count) events") }
        for (index, line) in lines.enumerated() {
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any]
            if object["invalid"] != nil {
                // A suppressed subject's invalid event is dropped, not dead-lettered.
                if object["suppressed"] as? Bool != true { invalid.insert(index) }
            } else {
                for destination in object["deliver"] as! [String] { deliveries[destination]!.insert(index) }
            }
        }
        return (deliveries, invalid)
    }

    /// Reads every output topic and checks it against `check`: each destination holds exactly
    /// the events delivered to it (as a set), the DLQ exactly the invalid ones, and per key the
    /// input order is kept. Returns the number of duplicate outputs (at-least-once).
    package func verifyOutputs(sourceLocation: SourceLocation = #_sourceLocation) async throws -> Int {
        let expected = try expectedRouting()
        var duplicates = 0
        let topics = try await readAll(Self.destinations.map { "dest.\($0)" } + ["events.dlq"])
        for destination in Self.destinations {
            let outputs = topics["dest.\(destination)"]!
            #expect(outputs.allSatisfy { $0.event != nil }, "\(destination) holds a message that is no generated event", sourceLocation: sourceLocation)
            let delivered = outputs.compactMap(\.event)
            let got = Set(delivered)
            let want = expected.deliveries[destination]!
            #expect(got.subtracting(want).isEmpty, "\(destination) got \(got.subtracting(want).count) events it must not get, e.g. \(got.subtracting(want).sorted().prefix(3).map { events[$0].value })", sourceLocation: sourceLocation)
            #expect(want.subtracting(got).isEmpty, "\(destination) is missing \(want.subtracting(got).count) allowed events, e.g. \(want.subtracting(got).sorted().prefix(3).map { events[$0].value })", sourceLocation: sourceLocation)
            duplicates += delivered.count - got.count
            #expect(outputs.allSatisfy { $0.key == events[$0.event ?? 0].key }, "\(destination): key changed", sourceLocation: sourceLocation)
            expectKeyOrder(outputs, topic: destination, sourceLocation: sourceLocation)
        }
        let dead = topics["events.dlq"]!
        let deadEvents = Set(dead.compactMap(\.event))
        #expect(deadEvents == expected.invalid, "DLQ: \(deadEvents.subtracting(expected.invalid).count) unexpected, \(expected.invalid.subtracting(deadEvents).count) missing", sourceLocation: sourceLocation)
        #expect(dead.allSatisfy { $0.headers["consent-gate-reason"] != nil && $0.headers["consent-gate-source-offset"] != nil }, "DLQ headers", sourceLocation: sourceLocation)
        duplicates += dead.count - deadEvents.count
        return duplicates
    }

    /// Within one key, outputs appear in input order (duplicates after a crash may repeat an
    /// earlier run, so order is checked on first occurrences).
    private func expectKeyOrder(_ outputs: [Output], topic: String, sourceLocation: SourceLocation) {
        var lastByKey: [String: Int] = [:]
        var seen = Set<Int>()
        var violations = 0
        for output in outputs {
            guard let event = output.event, seen.insert(event).inserted else { continue }
            if let last = lastByKey[output.key], last > event { violations += 1 }
            lastByKey[output.key] = event
        }
        #expect(violations == 0, "\(topic): \(violations) outputs out of per-key input order", sourceLocation: sourceLocation)
    }

    package struct Output: Sendable {
        /// Index of the generated event whose value this is; nil if it matches none.
        package let event: Int?
        package let partition: Int32
        package let offset: Int64
        package let key: String
        package let headers: [String: String]
    }
}
