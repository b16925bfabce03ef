import Foundation
import Kafka

/// A name no other test (or earlier run against the same broker) uses.
package func uniqueName(_ prefix: String) -> String {
    "\(prefix)-\(UUID().uuidString.prefix(8))"
}

/// A consumed message, copied out of its batch for checking.
package struct Received: Sendable, Hashable {
    package let partition: Int32
    package let offset: Int64
    package let key: String
    package let value: String
    package let headers: [String: String]
}

extension KafkaMessage {
    package var received: Received {
        var headerValues: [String: String] = [:]
        for header in headers.map(Array.init) ?? [] {
            headerValues[header.name] = header.value.map { String(decoding: $0, as: UTF8.self) } ?? "<null>"
        }
        return Received(
            partition: partition, offset: offset,
            key: key.map { String(decoding: $0, as: UTF8.self) } ?? "<null>",
            value: value.map { String(decoding: $0, as: UTF8.self) } ?? "<null>",
            headers: headerValues)
    }
}

package func properties(_ cluster: MockCluster, _ extra: KafkaProperties = [:]) -> KafkaProperties {
    KafkaProperties(dictionaryLiteral: ("bootstrap.servers", cluster.bootstrapServers)).merging(extra)
}

/// Consumer settings that make the mock's group protocol quick: fast heartbeats so rebalances
/// are noticed in tens of milliseconds rather than seconds.
package let fastGroup: KafkaProperties = ["heartbeat.interval.ms": "100", "session.timeout.ms": "6000"]

/// Reads until `count` messages (errors are thrown) or the deadline.
package func consume(_ consumer: KafkaConsumer, count: Int, within timeout: Duration) throws -> [Received] {
    let deadline = ContinuousClock.now + timeout
    var received: [Received] = []
    while received.count < count {
        guard ContinuousClock.now < deadline else { throw TimedOut(what: "\(count) messages, got \(received.count)") }
        let batch = try consumer.consume(maxMessages: 1000, timeout: .milliseconds(100))
        for message in batch {
            if let error = message.error { throw error }
            received.append(message.received)
        }
    }
    return received
}

/// Serves delivery reports until `count` arrived or the deadline.
package func collectReports(_ producer: KafkaProducer, count: Int, within timeout: Duration) throws -> [DeliveryReport] {
    let deadline = ContinuousClock.now + timeout
    var reports: [DeliveryReport] = []
    while reports.count < count {
        guard ContinuousClock.now < deadline else { throw TimedOut(what: "\(count) delivery reports, got \(reports.count)") }
        producer.pollDeliveryReports(timeout: .milliseconds(100)) { reports.append($0) }
    }
    return reports
}

extension KafkaProducer {
    package func send(topic: String, partition: Int32? = nil, key: String, value: String, headers: KafkaHeaders? = nil, opaque: UInt = 0)
        throws(KafkaError)
    {
        var failure: KafkaError?
        Array(key.utf8).withUnsafeBytes { key in
            Array(value.utf8).withUnsafeBytes { value in
                do throws(KafkaError) {
                    try send(topic: topic, partition: partition, key: key, value: value, headers: headers?.view, opaque: opaque)
                } catch {
                    failure = error
                }
            }
        }
        if let failure { throw failure }
    }
}
