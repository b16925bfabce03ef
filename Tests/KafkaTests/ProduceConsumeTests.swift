import Foundation
import Kafka
import Synchronization
import TestSupport
import Testing

@Suite("Produce and consume")
struct ProduceConsumeTests {
    @Test("10,000 keyed messages with headers come back once each, in partition order, headers intact")
    func roundTrip() async throws {
        let cluster = try MockCluster(brokers: 1)
        let topic = uniqueName("roundtrip")
        try cluster.createTopic(name: topic, partitions: 8)
        let total = 10_000

        let reports = try await onThread {
            let producer = try KafkaProducer(properties: properties(cluster, ["linger.ms": "5"]))
            defer { producer.close() }
            var reports: [DeliveryReport] = []
            for i in 0..<total {
                let headers = KafkaHeaders([("seq", Array("\(i)".utf8)), ("source", Array("test".utf8)), ("nothing", nil)])
                try producer.send(topic: topic, key: "user-\(i % 97)", value: "event-\(i)", headers: headers, opaque: UInt(i))
                if i % 500 == 0 { producer.pollDeliveryReports { reports.append($0) } }
            }
            try producer.flush(timeout: .seconds(20))
            reports += try collectReports(producer, count: total - reports.count, within: .seconds(5))
            return reports
        }
        #expect(reports.count == total)
        #expect(reports.allSatisfy { $0.error == nil && $0.undelivered == nil && $0.topic == topic && $0.offset >= 0 })
        #expect(Set(reports.map(\.opaque)) == Set((0..<total).map { UInt($0) }))

        let lagSeen = Mutex<[TopicPartition: Int64]>([:])
        let received = try await onThread {
            let consumer = try KafkaConsumer(
                groupID: uniqueName("roundtrip"), properties: properties(cluster, fastGroup.merging(["statistics.interval.ms": "100"])),
                statisticsHandler: { statistics in lagSeen.withLock { $0.merge(statistics.consumerLag) { $1 } } })
            defer { consumer.close() }
            try consumer.subscribe(topics: [topic])
            let received = try consume(consumer, count: total, within: .seconds(30))
            // librdkafka's consumer_lag counts from the committed offset: commit everything.
            let next = Dictionary(grouping: received, by: \.partition).map { partition, messages in
                TopicPartitionOffset(topic: topic, partition: partition, offset: messages.map(\.offset).max()! + 1)
            }
            try consumer.storeOffsets(next)
            try consumer.commit()
            // Wait for a statistics round that saw the consumer caught up on every partition.
            let deadline = ContinuousClock.now + .seconds(5)
            while ContinuousClock.now < deadline,
                lagSeen.withLock({ lag in lag.count < 8 || lag.values.contains { $0 != 0 } })
            {
                _ = try consumer.consume(maxMessages: 100, timeout: .milliseconds(100))
            }
            return received
        }

        #expect(received.count == total)
        let values = received.map(\.value)
        #expect(Set(values).count == total, "every message exactly once")
        #expect(Set(values) == Set((0..<total).map { "event-\($0)" }))
        for message in received {
            let seq = Int(message.value.dropFirst("event-".count))!
            #expect(message.key == "user-\(seq % 97)")
            #expect(message.headers == ["seq": "\(seq)", "source": "test", "nothing": "<null>"])
        }
        // Per partition: offsets consecutive from 0 and production order kept.
        for (_, messages) in Dictionary(grouping: received, by: \.partition) {
            #expect(messages.map(\.offset) == Array(0..<Int64(messages.count)))
            let sequence = messages.map { Int($0.value.dropFirst("event-".count))! }
            #expect(sequence == sequence.sorted())
        }
        #expect(Set(received.map(\.partition)).count == 8)
        // Same key, same partition.
        let partitionsPerKey = Dictionary(grouping: received, by: \.key).mapValues { Set($0.map(\.partition)).count }
        #expect(partitionsPerKey.values.allSatisfy { $0 == 1 })

        let lag = lagSeen.withLock { $0 }
        #expect(lag.count == 8 && lag.values.allSatisfy { $0 == 0 }, "statistics report zero lag on all 8 partitions: \(lag)")
    }

    @Test("Consumed headers are forwarded without copying them through Swift")
    func forwardHeaders() async throws {
        let cluster = try MockCluster(brokers: 1)
        let source = uniqueName("forward-in")
        let destination = uniqueName("forward-out")
        try cluster.createTopic(name: source, partitions: 1)
        try cluster.createTopic(name: destination, partitions: 1)

        let forwarded = try await onThread {
            let producer = try KafkaProducer(properties: properties(cluster))
            defer { producer.close() }
            try producer.send(topic: source, key: "k", value: "v", headers: KafkaHeaders([("trace", Array("abc".utf8))]))
            _ = try collectReports(producer, count: 1, within: .seconds(10))

            let consumer = try KafkaConsumer(groupID: uniqueName("forward"), properties: properties(cluster, fastGroup))
            defer { consumer.close() }
            try consumer.subscribe(topics: [source])
            var batch: MessageBatch
            repeat { batch = try consumer.consume(maxMessages: 10, timeout: .milliseconds(100)) } while batch.isEmpty
            let message = batch[0]
            try producer.send(
                to: producer.topic(destination), key: message.key, value: message.value, headers: message.headers, opaque: 7)
            let report = try collectReports(producer, count: 1, within: .seconds(10))[0]

            let reader = try KafkaConsumer(groupID: uniqueName("forward-check"), properties: properties(cluster, fastGroup))
            defer { reader.close() }
            try reader.subscribe(topics: [destination])
            return (report.opaque, try consume(reader, count: 1, within: .seconds(15))[0])
        }
        #expect(forwarded.0 == 7)
        #expect(forwarded.1.headers == ["trace": "abc"])
        #expect(forwarded.1.key == "k" && forwarded.1.value == "v")
    }
}
