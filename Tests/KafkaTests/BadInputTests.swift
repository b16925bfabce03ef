import Foundation
import Kafka
import TestSupport
import Testing

@Suite("Bad input")
struct BadInputTests {
    @Test("An unknown property is named in a typed error")
    func unknownProperty() {
        #expect(throws: KafkaConfigurationError.unknownProperty(name: "no.such.property")) {
            _ = try KafkaProducer(properties: ["bootstrap.servers": "127.0.0.1:1", "no.such.property": "1"])
        }
        #expect(throws: KafkaConfigurationError.unknownProperty(name: "fetch.bytes.maximum")) {
            _ = try KafkaConsumer(groupID: "g", properties: ["fetch.bytes.maximum": "1"])
        }
    }

    @Test("An invalid value names the property, the value and librdkafka's reason")
    func invalidValue() throws {
        let error = try #require(throws: KafkaConfigurationError.self) {
            _ = try KafkaProducer(properties: ["acks": "banana"])
        }
        guard case .invalidValue(let property, let value, let reason) = error else {
            Issue.record("expected invalidValue, got \(error)")
            return
        }
        #expect(property == "acks" && value == "banana" && !reason.isEmpty)
        #expect(error.description.contains("acks"))

        #expect(throws: KafkaConfigurationError.self) {
            _ = try KafkaConsumer(groupID: "g", properties: ["session.timeout.ms": "soon"])
        }
    }

    @Test("Caller properties override the defaults")
    func defaultsOverridden() {
        let merged = KafkaProperties.consumerDefaults.merging(["auto.offset.reset": "latest", "client.id": "x"])
        #expect(merged["auto.offset.reset"] == "latest")
        #expect(merged["enable.auto.commit"] == "false")
        #expect(merged.map(\.name) == ["enable.auto.commit", "enable.auto.offset.store", "auto.offset.reset", "client.id"])
        #expect(KafkaProperties.producerDefaults["enable.idempotence"] == "true")
    }

    @Test("Unreachable brokers give a transport or timeout error after the configured timeout, not a hang")
    func unreachableBroker() async throws {
        let (error, elapsed) = try await timedFailure {
            let admin = try KafkaAdmin(properties: ["bootstrap.servers": "127.0.0.1:1"])
            _ = try admin.watermarks(topic: "anything", timeout: .seconds(1))
        }
        let kafkaError = try #require(error)
        #expect([KafkaError.Code.transport, .timedOut, .allBrokersDown].contains(kafkaError.code), "\(kafkaError)")
        #expect(kafkaError.operation.contains("anything"))
        #expect(elapsed < .seconds(4))
    }

    @Test("A message to an unreachable cluster fails after message.timeout.ms with a copy to produce again")
    func undeliverable() async throws {
        let report = try await onThread {
            let producer = try KafkaProducer(
                properties: ["bootstrap.servers": "127.0.0.1:1", "message.timeout.ms": "500"])
            defer { producer.close(timeout: .zero) }
            try producer.send(
                topic: "nowhere", key: "key", value: "value", headers: KafkaHeaders([("h", Array("x".utf8))]), opaque: 42)
            return try collectReports(producer, count: 1, within: .seconds(5))[0]
        }
        #expect(report.error?.code == .messageTimedOut)
        #expect(report.opaque == 42 && report.topic == "nowhere")
        #expect(report.undelivered?.key == Array("key".utf8))
        #expect(report.undelivered?.value == Array("value".utf8))
        #expect(report.undelivered?.headers?.view.lastBytes(forName: "h") == Array("x".utf8))
    }

    @Test("CreateTopics on the mock cluster fails with a typed error within its timeout")
    func createTopicsUnsupported() async throws {
        let cluster = try MockCluster(brokers: 1)
        let (error, elapsed) = try await timedFailure {
            let admin = try KafkaAdmin(properties: properties(cluster))
            try admin.createTopics([.init(name: uniqueName("admin"), partitions: 3)], timeout: .seconds(1))
        }
        let kafkaError = try #require(error)
        #expect(kafkaError.operation.contains("create topic"))
        #expect(elapsed < .seconds(4))
    }

    /// Runs `body` on a thread; returns the `KafkaError` it threw (nil if none) and how long it took.
    private func timedFailure(_ body: @escaping @Sendable () throws -> Void) async throws -> (KafkaError?, Duration) {
        try await onThread { () throws -> (KafkaError?, Duration) in
            let start = ContinuousClock.now
            do {
                try body()
                return (nil, ContinuousClock.now - start)
            } catch let error as KafkaError {
                return (error, ContinuousClock.now - start)
            }
        }
    }

    @Test("Sending after close is a typed error, and close is idempotent")
    func sendAfterClose() throws {
        let producer = try KafkaProducer(properties: ["bootstrap.servers": "127.0.0.1:1"])
        producer.close(timeout: .zero)
        producer.close(timeout: .zero)
        #expect(throws: KafkaError.self) { try producer.send(topic: "t", key: "k", value: "v") }
        #expect(producer.pollDeliveryReports { _ in } == 0)
        #expect(producer.inFlightCount == 0)
    }
}

extension BadInputTests {
    @Test("A topic name librdkafka refuses is a typed error on send, not a crash")
    func invalidTopicName() throws {
        let producer = try KafkaProducer(properties: ["bootstrap.servers": "127.0.0.1:1"])
        defer { producer.close(timeout: .zero) }
        let error = try #require(throws: KafkaError.self) {
            try producer.send(topic: String(repeating: "x", count: 600), key: "k", value: "v")
        }
        #expect(error.operation.hasPrefix("produce to"))
    }
}

extension BadInputTests {
    @Test("Using a consumer after close is a typed error, and close is idempotent")
    func consumeAfterClose() throws {
        let consumer = try KafkaConsumer(groupID: "closed", properties: ["bootstrap.servers": "127.0.0.1:1"])
        consumer.close()
        consumer.close()
        #expect(throws: KafkaError.self) { _ = try consumer.consume(maxMessages: 1, timeout: .zero) }
        #expect(throws: KafkaError.self) { try consumer.commit() }
    }
}
