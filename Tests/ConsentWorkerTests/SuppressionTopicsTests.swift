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

    func makeTopics(writeProperties: KafkaProperties = [:]) throws -> SuppressionTopics {
        try SuppressionTopics(
            brokers: cluster.bootstrapServers, suppressionTopic: suppressionTopic, regulationTopic: regulationTopic,
            clients: KafkaClientConfig(producer: writeProperties),
            seed: Suppressions.Builder(identifiers: [.userId]), state: state, logger: logger)
    }

    /// Produces one record and waits for its acknowledgement.
    func produce(topic: String, key: String, value: String) throws {
        try producer.send(topic: topic, key: key, value: value)
        let reports = try collectReports(producer, count: 1, within: .seconds(10))
        if let error = reports.first?.error { throw error }
    }
}
