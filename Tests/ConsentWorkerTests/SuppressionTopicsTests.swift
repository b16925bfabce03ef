import ConsentEngine
@testable import ConsentWorker
import Kafka
import Logging
import Synchronization
import Testing
import TestSupport

/// `SuppressionTopics` against the mock cluster: what reaches the routing state, and what a
/// write reports, when live changes and broker replies arrive at awkward moments.
@Suite struct SuppressionTopicsTests {
    /// Defect 3 (issue 9): a suppression read live just as the bulk load ends must not be
    /// overwritten by the loaded list.
    @Test func aLiveSuppressionArrivingAsTheLoadEndsIsKept() async throws {
        let observed = try await onThread {
            let fixture = try StateTopicsFixture()
            try fixture.produce(topic: fixture.suppressionTopic, key: "userId:loaded-1", value: "{}")
            let topics = try fixture.makeTopics()
            let events = Events()
            let liveTaken = Shared(false)
            var hooks = SuppressionTopics.Hooks()
            // The injected delay: start-up pauses right after the bulk load ended until the
            // follower has read a new suppression and taken it to apply.
            hooks.loadFinished = {
                do {
                    try fixture.produce(topic: fixture.suppressionTopic, key: "userId:live-1", value: "{}")
                } catch {
                    return
                }
                let taken = events.wait(for: .seconds(15), event: "live changes taken")
                liveTaken.update { $0 = taken }
            }
            hooks.liveChangesTaken = { _ in events.signal("live changes taken") }
            hooks.liveChangesApplied = { _ in events.signal("live changes applied") }
            topics.setHooks(hooks)
            try topics.start(timeout: .seconds(20)) { false }
            defer { topics.stop() }
            let liveApplied = events.wait(for: .seconds(15), event: "live changes applied")
            return (
                liveTaken: liveTaken.value, liveApplied: liveApplied,
                loaded: fixture.state.suppressions.contains("loaded-1", as: .userId),
                live: fixture.state.suppressions.contains("live-1", as: .userId)
            )
        }
        #expect(observed.liveTaken, "the follower read the live suppression during start-up")
        #expect(observed.liveApplied)
        #expect(observed.loaded)
        #expect(observed.live, "the live suppression survived the swap to the loaded list")
    }

    /// Defect 4 (issue 9): a write that timed out (503) is acknowledged later; that late report
    /// must not count toward the next write, whose own record the broker refuses.
    @Test func aLateReportOfATimedOutWriteDoesNotAcceptTheNextOne() async throws {
        let outcomes = try await onThread {
            let fixture = try StateTopicsFixture()
            let topics = try fixture.makeTopics()
            func write(_ id: String, timeout: Duration) -> Bool {
                let record = SuppressionTopics.Record(
                    topic: fixture.suppressionTopic, key: Array("userId:\(id)".utf8), value: Array("{}".utf8))
                return (try? topics.write([record], timeout: timeout)) != nil
            }
            // Connected and metadata known, so the next produce request leaves at once.
            let warmUp = write("warm-up", timeout: .seconds(10))
            // Replies now take longer than the write waits: the broker has the record, the
            // write gives up.
            try fixture.cluster.setBrokerRTT(1, .seconds(2))
            let timedOut = write("slow", timeout: .milliseconds(300))
            // The broker refuses the next produce request; its reply (delayed as well) comes
            // after the late acknowledgement of the timed-out write.
            fixture.cluster.pushRequestErrors(apiKey: 0, [.messageSizeTooLarge])
            let refused = write("refused", timeout: .seconds(10))
            try fixture.cluster.setBrokerRTT(1, .zero)
            let next = write("next", timeout: .seconds(10))
            topics.stop()
            return (warmUp: warmUp, timedOut: timedOut, refused: refused, next: next)
        }
        #expect(outcomes.warmUp)
        #expect(!outcomes.timedOut, "the broker's reply came after the write's timeout")
        #expect(!outcomes.refused, "the broker refused this write's record")
        #expect(outcomes.next, "a later write is judged by its own records only")
    }

    /// Defect 7 (issue 9): the regulation JSON a replica keeps for status lookups is bounded in
    /// bytes; the newest regulations are kept, the oldest evicted.
    @Test func theRegulationLogKeepsTheNewestWithinItsByteBudget() async throws {
        let outcome = try await onThread {
            let fixture = try StateTopicsFixture()
            let topics = try fixture.makeTopics(regulationLogBytes: 1_000)
            defer { topics.stop() }
            let ids = (0..<10).map { "regulation-\($0)" }
            for id in ids { try topics.write([fixture.regulationRecord(id: id)]) }
            let kept = ids.filter { topics.regulation(id: $0) != nil }
            // One record larger than the whole budget is not kept, and evicts nothing.
            let big = SuppressionTopics.Record(
                topic: fixture.regulationTopic, key: Array("big".utf8), value: Array(repeating: UInt8(ascii: "x"), count: 2_000),
                kind: "regulation")
            try topics.write([big])
            return (kept: kept, bigKept: topics.regulation(id: "big") != nil, usage: topics.regulationLogUsage)
        }
        // 200 bytes of JSON plus a 12-byte id each: four fit in 1,000 bytes.
        #expect(outcome.kept == ["regulation-6", "regulation-7", "regulation-8", "regulation-9"])
        #expect(!outcome.bigKept)
        #expect(outcome.usage.bytes <= 1_000)
        #expect(outcome.usage.count == 4)
        #expect(outcome.usage.evicted == 6)
    }

    /// Defect 7 (issue 9): concurrent regulation writes run on one thread and at most
    /// `maxQueuedWrites` wait; the rest are refused at once (the admin API answers 503).
    @Test func writesBeyondTheQueueAreRefusedAtOnce() async throws {
        let fixture = try StateTopicsFixture()
        let topics = try fixture.makeTopics(maxQueuedWrites: 2)
        try await onThread {
            try topics.write([fixture.regulationRecord(id: "warm-up")])
            // Every write now takes about 2 s, so the first two are still queued when the
            // others arrive.
            try fixture.cluster.setBrokerRTT(1, .seconds(2))
        }
        let results = await withTaskGroup(of: String.self) { group in
            for index in 0..<5 {
                group.addTask {
                    do {
                        try await topics.submit([fixture.regulationRecord(id: "r-\(index)")])
                        return "written"
                    } catch is SuppressionTopics.WriteQueueFull {
                        return "refused"
                    } catch {
                        return "failed: \(error)"
                    }
                }
            }
            return await group.reduce(into: [String]()) { $0.append($1) }
        }
        try await onThread { topics.stop() }
        #expect(results.filter { $0 == "written" }.count == 2)
        #expect(results.filter { $0 == "refused" }.count == 3)
    }
}

/// A mock cluster with a suppression and a regulation topic, and the routing state a
/// `SuppressionTopics` over them feeds.
final class StateTopicsFixture: Sendable {
    let cluster: MockCluster
    let suppressionTopic = uniqueName("suppressions")
    let regulationTopic = uniqueName("regulations")
    let state: RoutingState
    let producer: KafkaProducer
    let logger = Logger(label: "test.suppression-topics")

    init(suppressionPartitions: Int = 1) throws {
        cluster = try MockCluster()
        try cluster.createTopic(name: suppressionTopic, partitions: suppressionPartitions)
        try cluster.createTopic(name: regulationTopic, partitions: 1)
        producer = try KafkaProducer(properties: properties(cluster, ["linger.ms": "0"]), logger: logger)
        let policy = try CompiledPolicy(Policy(destinations: [Destination(id: "d")]))
        state = RoutingState(policy: policy, destinationTopics: ["dest.d"])
    }

    deinit {
        producer.close(timeout: .seconds(5))
        cluster.shutdown()
    }

    func makeTopics(
        writeProperties: KafkaProperties = [:], regulationLogBytes: Int = SuppressionTopics.defaultRegulationLogBytes,
        maxQueuedWrites: Int = SuppressionTopics.defaultMaxQueuedWrites
    ) throws -> SuppressionTopics {
        try SuppressionTopics(
            brokers: cluster.bootstrapServers, suppressionTopic: suppressionTopic, regulationTopic: regulationTopic,
            clients: KafkaClientConfig(producer: writeProperties),
            seed: Suppressions.Builder(identifiers: [.userId]), state: state, logger: logger,
            regulationLogBytes: regulationLogBytes, maxQueuedWrites: maxQueuedWrites)
    }

    /// A regulation record as the admin API writes it (`{"regulation":…}`, 200 bytes).
    func regulationRecord(id: String) -> SuppressionTopics.Record {
        let json = #"{"regulation":{"id":"\#(id)","pad":""# + String(repeating: "x", count: 200) + "\"}}"
        return SuppressionTopics.Record(
            topic: regulationTopic, key: Array(id.utf8), value: Array(json.utf8.prefix(200)), kind: "regulation")
    }

    /// Produces one record and waits for its acknowledgement.
    func produce(topic: String, key: String, value: String) throws {
        try producer.send(topic: topic, key: key, value: value)
        let reports = try collectReports(producer, count: 1, within: .seconds(10))
        if let error = reports.first?.error { throw error }
    }
}
