import Foundation
import Kafka
import TestSupport
import Testing

@Suite("Faults and back-pressure")
struct FaultTests {
    @Test("A leader taken down mid-produce and brought back, then moved: every message delivered exactly once")
    func brokerDownAndUp() async throws {
        let cluster = try MockCluster(brokers: 3)
        let topic = uniqueName("outage")
        try cluster.createTopic(name: topic, partitions: 4, replicationFactor: 3)
        for partition: Int32 in 0..<4 { try cluster.setPartitionLeader(topic: topic, partition: partition, brokerID: 1) }
        let total = 3000

        let (reports, resent) = try await onThread {
            let producer = try KafkaProducer(properties: properties(cluster, ["linger.ms": "5", "retry.backoff.ms": "50"]))
            defer { producer.close() }
            var reports: [DeliveryReport] = []
            var resent = 0
            func serve(for duration: Duration) throws {
                let until = ContinuousClock.now + duration
                repeat {
                    producer.pollDeliveryReports(timeout: .milliseconds(20)) { report in
                        // Like the worker: a message librdkafka gave up on is produced again.
                        if report.error != nil {
                            resent += 1
                            try? producer.resend(report)
                        } else {
                            reports.append(report)
                        }
                    }
                } while ContinuousClock.now < until
            }
            func send(_ range: Range<Int>) throws {
                for i in range { try producer.send(topic: topic, key: "key-\(i % 50)", value: "value-\(i)", opaque: UInt(i)) }
            }
            // Retriable broker errors on the first produce requests.
            cluster.pushRequestErrors(apiKey: 0, [.notLeaderForPartition, .notEnoughReplicas, .leaderNotAvailable])
            try send(0..<1000)
            try serve(for: .milliseconds(100))
            try cluster.setBrokerDown(1)
            try send(1000..<2000)
            try serve(for: .milliseconds(700))  // the outage
            try cluster.setBrokerUp(1)
            try send(2000..<2500)
            for partition: Int32 in 0..<4 { try cluster.setPartitionLeader(topic: topic, partition: partition, brokerID: 2) }
            try send(2500..<total)
            let deadline = ContinuousClock.now + .seconds(30)
            while reports.count < total, ContinuousClock.now < deadline { try serve(for: .milliseconds(100)) }
            return (reports, resent)
        }
        #expect(reports.count == total, "\(resent) messages needed producing again")
        #expect(Set(reports.map(\.opaque)).count == total)

        let received = try await onThread {
            let consumer = try KafkaConsumer(groupID: uniqueName("outage"), properties: properties(cluster, fastGroup))
            defer { consumer.close() }
            try consumer.subscribe(topics: [topic])
            var received = try consume(consumer, count: total, within: .seconds(30))
            // Anything beyond `total` would be a duplicate: give it a moment to show up.
            let extra = try consumer.consume(maxMessages: 1000, timeout: .milliseconds(500))
            received += extra.map(\.received)
            return received
        }
        #expect(received.count == total, "no message lost or duplicated")
        #expect(Set(received.map(\.value)) == Set((0..<total).map { "value-\($0)" }))
    }

    @Test("A 10-message producer queue makes senders wait, not fail", arguments: [1, 3])
    func tinyQueue(senderThreads: Int) async throws {
        let cluster = try MockCluster(brokers: 1)
        try cluster.setBrokerRTT(1, .milliseconds(5))
        let topic = uniqueName("tiny-queue")
        try cluster.createTopic(name: topic, partitions: 2)
        let producer = try KafkaProducer(
            properties: properties(cluster, ["queue.buffering.max.messages": "10", "linger.ms": "1"]))
        defer { producer.close() }
        let perThread = 300
        let total = perThread * senderThreads

        // Senders never serve reports themselves: they must be waiting on the serving thread,
        // or serving for it while it is between polls.
        async let reports = onThread { try collectReports(producer, count: total, within: .seconds(60)) }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for t in 0..<senderThreads {
                group.addTask {
                    try await onThread {
                        for i in 0..<perThread {
                            let n = t * perThread + i
                            try producer.send(topic: topic, key: "k\(n)", value: "v\(n)", opaque: UInt(n))
                        }
                    }
                }
            }
            try await group.waitForAll()
        }
        let delivered = try await reports
        #expect(delivered.count == total)
        #expect(delivered.allSatisfy { $0.error == nil })
        #expect(Set(delivered.map(\.opaque)) == Set((0..<total).map { UInt($0) }))

        let produced = try await onThread {
            try KafkaAdmin(properties: properties(cluster)).watermarks(topic: topic, timeout: .seconds(5))
        }
        #expect(produced.map(\.high).reduce(0, +) == Int64(total))
    }

    @Test("A single thread that sends, also from inside its report handler, with a full queue does not deadlock")
    func sendAndServeOnOneThread() async throws {
        let cluster = try MockCluster(brokers: 1)
        let topic = uniqueName("one-thread")
        try cluster.createTopic(name: topic, partitions: 1)
        let (reports, flushed) = try await onThread {
            let producer = try KafkaProducer(properties: properties(cluster, ["queue.buffering.max.messages": "10"]))
            defer { producer.close() }
            var reports: [DeliveryReport] = []
            for i in 0..<200 { try producer.send(topic: topic, key: "k", value: "first-\(i)", opaque: UInt(i)) }
            // Each report of the first round triggers a follow-up send from inside the handler.
            let deadline = ContinuousClock.now + .seconds(30)
            while reports.count < 400, ContinuousClock.now < deadline {
                producer.pollDeliveryReports(timeout: .milliseconds(50)) { report in
                    reports.append(report)
                    if report.opaque < 200 {
                        try? producer.send(topic: topic, key: "k", value: "second-\(report.opaque)", opaque: report.opaque + 1000)
                    }
                }
            }
            try producer.flush(timeout: .seconds(5))
            return (reports, producer.inFlightCount)
        }
        #expect(reports.count == 400)
        #expect(reports.allSatisfy { $0.error == nil })
        #expect(flushed == 0)
        let offsets = reports.map(\.offset).sorted()
        #expect(offsets == Array(0..<400))
    }
}
