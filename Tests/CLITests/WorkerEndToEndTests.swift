import Foundation
import Kafka
import TestSupport
import Testing

extension EndToEnd {
    /// The real `consent-gate run` binary against an in-process mock cluster. Every test ends by
    /// comparing each output topic with what `consent-gate check` decides for the same events.
    /// `CONSENT_GATE_FULL_TESTS=1` runs the full counts; CI runs smaller ones.
    @Suite("Worker end to end", .timeLimit(.minutes(5)))
    struct WorkerEndToEndTests {
        static let full = ProcessInfo.processInfo.environment["CONSENT_GATE_FULL_TESTS"] == "1"

        @Test("Every destination topic holds exactly what check delivers; DLQ holds the invalid events")
        func oracle() async throws {
            let fixture = try WorkerFixture(events: 50_000, partitions: 16)
            try await fixture.preload()
            let worker = try fixture.startWorker()
            try await fixture.waitUntilCommitted(within: .seconds(120))
            worker.kill(SIGTERM)
            let status = try await worker.waitForExit(within: .seconds(30))
            #expect(status == 0, "worker log:\n\(worker.logText.suffix(3000))")
            let duplicates = try await fixture.verifyOutputs()
            #expect(duplicates == 0, "a single uninterrupted run produces every output once")
        }

        @Test("SIGTERM mid-stream, then restart: nothing lost, no duplicates at all")
        func gracefulStopAndRestart() async throws {
            let fixture = try WorkerFixture(events: 30_000, partitions: 8)
            try await fixture.preload(0..<10_000)
            async let producing: Void = fixture.preload(10_000..<30_000, over: .seconds(6))
            let first = try fixture.startWorker(name: "first")
            try await fixture.waitForMessages(in: "dest.s3-archive", atLeast: 5_000, within: .seconds(60))
            first.kill(SIGTERM)
            #expect(try await first.waitForExit(within: .seconds(30)) == 0, "first log:\n\(first.logText.suffix(3000))")

            let second = try fixture.startWorker(name: "second")
            try await producing
            try await fixture.waitUntilCommitted(within: .seconds(120))
            second.kill(SIGTERM)
            #expect(try await second.waitForExit(within: .seconds(30)) == 0, "second log:\n\(second.logText.suffix(3000))")
            let duplicates = try await fixture.verifyOutputs()
            #expect(duplicates == 0, "a graceful stop commits exactly what was delivered")
        }

        @Test("Restart with a sparse subscription changelog (some partitions empty) restores and routes")
        func restartWithSparseChangelog() async throws {
            let fixture = try WorkerFixture(events: 60, partitions: 8)
            try await fixture.preload(0..<30)
            let first = try fixture.startWorker(name: "first")
            try await fixture.waitUntilCommitted(within: .seconds(60))
            first.kill(SIGTERM)
            #expect(try await first.waitForExit(within: .seconds(30)) == 0)
            let changelog = try await fixture.readAll(["consent.subscriptions"])["consent.subscriptions"] ?? []
            let written = Set(changelog.map(\.partition))
            #expect(!written.isEmpty && written.count < 8, "the scenario needs some empty changelog partitions: \(written.sorted())")

            try await fixture.preload(30..<60)
            let second = try fixture.startWorker(name: "second")
            try await fixture.waitUntilCommitted(within: .seconds(60))
            second.kill(SIGTERM)
            #expect(try await second.waitForExit(within: .seconds(30)) == 0)
            #expect(try await fixture.verifyOutputs() == 0)
        }

        @Test("kill -9 at five random moments: no allowed event missing, no dropped event present")
        func crashRecovery() async throws {
            let count = Self.full ? 200_000 : 40_000
            let fixture = try WorkerFixture(events: count, partitions: Self.full ? 64 : 16)
            async let producing: Void = fixture.preload(over: .seconds(Self.full ? 90 : 45))
            var random = SeededGenerator(seed: 7)
            for round in 0..<5 {
                let worker = try fixture.startWorker(name: "crash-\(round)")
                try await worker.waitForLog("[ConsentWorker] partitions assigned", within: .seconds(60))
                // A random moment while it routes: the point of the test, not synchronization.
                try await Task.sleep(for: .milliseconds(200 + Int(random.next() % 1_500)))
                worker.kill(SIGKILL)
                _ = try await worker.waitForExit(within: .seconds(10))
            }
            let last = try fixture.startWorker(name: "final")
            try await producing
            try await fixture.waitUntilCommitted(within: .seconds(180))
            last.kill(SIGTERM)
            let status = try await last.waitForExit(within: .seconds(30))
            #expect(status == 0, "final worker exited \(status), reason \(last.process.terminationReason.rawValue):\n\(last.logText.suffix(3000))")
            let duplicates = try await fixture.verifyOutputs()
            print("crash recovery: \(count) events, 5 kills, \(duplicates) duplicate outputs (at-least-once)")
        }

        @Test("Three replicas join and leave during a run: same guarantees")
        func rebalance() async throws {
            let fixture = try WorkerFixture(events: 40_000, partitions: 12)
            async let producing: Void = fixture.preload(over: .seconds(10))
            let a = try fixture.startWorker(name: "a")
            try await fixture.waitForMessages(in: "dest.s3-archive", atLeast: 1_000, within: .seconds(60))
            let b = try fixture.startWorker(name: "b")
            let c = try fixture.startWorker(name: "c")
            try await fixture.waitForMessages(in: "dest.s3-archive", atLeast: 12_000, within: .seconds(60))
            b.kill(SIGTERM)
            #expect(try await b.waitForExit(within: .seconds(40)) == 0, "b log:\n\(b.logText.suffix(3000))")
            try await fixture.waitForMessages(in: "dest.s3-archive", atLeast: 20_000, within: .seconds(60))
            a.kill(SIGTERM)
            #expect(try await a.waitForExit(within: .seconds(40)) == 0, "a log:\n\(a.logText.suffix(3000))")
            try await producing
            try await fixture.waitUntilCommitted(within: .seconds(120))
            c.kill(SIGTERM)
            #expect(try await c.waitForExit(within: .seconds(40)) == 0, "c log:\n\(c.logText.suffix(3000))")
            let duplicates = try await fixture.verifyOutputs()
            print("rebalance: 3 replicas, \(duplicates) duplicate outputs")
        }

        @Test("A broker down for 2 s and injected produce errors: recovery without restart")
        func brokerFaults() async throws {
            let fixture = try WorkerFixture(events: 30_000, partitions: 8, brokers: 3)
            async let producing: Void = fixture.preload(over: .seconds(6))
            let worker = try fixture.startWorker()
            try await fixture.waitForMessages(in: "dest.s3-archive", atLeast: 2_000, within: .seconds(60))
            fixture.cluster.pushRequestErrors(apiKey: 0, Array(repeating: .notLeaderForPartition, count: 5) + Array(repeating: .requestTimedOut, count: 5))
            try fixture.cluster.setBrokerDown(2)
            try await Task.sleep(for: .seconds(2))  // the fault's duration
            try fixture.cluster.setBrokerUp(2)
            try await producing
            try await fixture.waitUntilCommitted(within: .seconds(180))
            worker.kill(SIGTERM)
            #expect(try await worker.waitForExit(within: .seconds(30)) == 0, "worker log:\n\(worker.logText.suffix(3000))")
            let duplicates = try await fixture.verifyOutputs()
            print("broker faults: \(duplicates) duplicate outputs")
        }

        @Test("Bad config: exit 2 naming the key, nothing consumed")
        func badConfig() async throws {
            let fixture = try WorkerFixture(events: 100, partitions: 2)
            try await fixture.preload()
            var config = try String(contentsOfFile: fixture.configPath, encoding: .utf8)
            config = config.replacingOccurrences(of: "match: any", with: "match: some")
            try config.write(toFile: fixture.configPath, atomically: true, encoding: .utf8)
            let worker = try fixture.startWorker()
            #expect(try await worker.waitForExit(within: .seconds(30)) == 2)
            #expect(worker.logText.contains("destinations[3].match"), "log:\n\(worker.logText)")
            #expect(try fixture.messageCount("dest.s3-archive") == 0)
            #expect(try fixture.messageCount("events.dlq") == 0)
        }

        @Test("Unreachable brokers: a clear message and non-zero exit, not a hang")
        func unreachableBrokers() async throws {
            let fixture = try WorkerFixture(events: 0, partitions: 1)
            let worker = try WorkerProcess(
                arguments: ["run", "--config", fixture.configPath, "--connect-timeout", "3"],
                environment: ["CONSENT_GATE_BROKERS": "127.0.0.1:1"],
                log: fixture.directory.appendingPathComponent("unreachable.log"))
            let status = try await worker.waitForExit(within: .seconds(30))
            #expect(status == 1)
            #expect(worker.logText.contains("cannot reach Kafka brokers 127.0.0.1:1"), "log:\n\(worker.logText)")
        }
    }
}
