import Foundation
import Kafka
import Testing

/// Runs blocking Kafka work on a dedicated thread, keeping it off Swift's cooperative pool so
/// tests can run in parallel. Assertions belong in the async caller (`#expect` needs the test's
/// task context), so bodies return what they observed.
func onThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        let thread = Thread { continuation.resume(with: Result { try body() }) }
        thread.start()
    }
}

/// A name no other test (or earlier run against the same broker) uses.
func uniqueName(_ prefix: String) -> String {
    "\(prefix)-\(UUID().uuidString.prefix(8))"
}

struct TimedOut: Error, CustomStringConvertible {
    let what: String
    var description: String { "timed out waiting for \(what)" }
}

/// A consumed message, copied out of its batch for checking.
struct Received: Sendable, Hashable {
    let partition: Int32
    let offset: Int64
    let key: String
    let value: String
    let headers: [String: String]
}

extension KafkaMessage {
    var received: Received {
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

func properties(_ cluster: MockCluster, _ extra: KafkaProperties = [:]) -> KafkaProperties {
    KafkaProperties(dictionaryLiteral: ("bootstrap.servers", cluster.bootstrapServers)).merging(extra)
}

/// Consumer settings that make the mock's group protocol quick: fast heartbeats so rebalances
/// are noticed in tens of milliseconds rather than seconds.
let fastGroup: KafkaProperties = ["heartbeat.interval.ms": "100", "session.timeout.ms": "6000"]

/// Reads until `count` messages (errors are thrown) or the deadline.
func consume(_ consumer: KafkaConsumer, count: Int, within timeout: Duration) throws -> [Received] {
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
func collectReports(_ producer: KafkaProducer, count: Int, within timeout: Duration) throws -> [DeliveryReport] {
    let deadline = ContinuousClock.now + timeout
    var reports: [DeliveryReport] = []
    while reports.count < count {
        guard ContinuousClock.now < deadline else { throw TimedOut(what: "\(count) delivery reports, got \(reports.count)") }
        producer.pollDeliveryReports(timeout: .milliseconds(100)) { reports.append($0) }
    }
    return reports
}

extension KafkaProducer {
    func send(topic: String, partition: Int32? = nil, key: String, value: String, headers: KafkaHeaders? = nil, opaque: UInt = 0)
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
