@testable import ConsentWorker
import Kafka
import Logging
import Testing
import TestSupport

@Suite struct StateTopicFollowerTests {
    /// Defect 6 (issue 9): a partition the state topic gains after start is read too, from its
    /// beginning. The mock cluster cannot add partitions to a topic, so the topic has two from
    /// the start and the follower's partition count comes from the test: first one, then two.
    @Test func aPartitionAddedAfterStartIsFollowed() async throws {
        let outcome = try await onThread {
            let cluster = try MockCluster()
            defer { cluster.shutdown() }
            let topic = uniqueName("state")
            try cluster.createTopic(name: topic, partitions: 2)
            let producer = try KafkaProducer(properties: properties(cluster, ["linger.ms": "0"]))
            defer { producer.close(timeout: .seconds(5)) }
            let partitionCount = Shared(1)
            let events = Events()
            let follower = StateTopicFollower(
                topic: topic, brokers: cluster.bootstrapServers, clients: KafkaClientConfig(), logger: Logger(label: "test.state"),
                partitionRefresh: .milliseconds(100), partitionCount: { partitionCount.value },
                apply: { partition, key, _ in
                    events.signal("\(partition):\(key.map { String(decoding: $0, as: UTF8.self) } ?? "")")
                })
            try follower.start(timeout: .seconds(20)) { false }
            defer { follower.stop() }
            try producer.send(topic: topic, partition: 0, key: "before", value: "1")
            try producer.send(topic: topic, partition: 1, key: "added", value: "1")
            let reports = try collectReports(producer, count: 2, within: .seconds(10))
            let firstRead = events.wait(for: .seconds(10), event: "0:before")
            let readBeforeGrowth = events.wait(for: .zero, event: "1:added")
            partitionCount.update { $0 = 2 }
            let readAfterGrowth = events.wait(for: .seconds(10), event: "1:added")
            return (
                produced: reports.allSatisfy { $0.error == nil }, firstRead: firstRead,
                readBeforeGrowth: readBeforeGrowth, readAfterGrowth: readAfterGrowth)
        }
        #expect(outcome.produced)
        #expect(outcome.firstRead)
        #expect(!outcome.readBeforeGrowth, "partition 1 is not followed while the topic has one partition")
        #expect(outcome.readAfterGrowth, "partition 1 is read once the topic has grown to two")
    }
}
