import Kafka

/// An output the broker refused after librdkafka's own retries (or that could not even be
/// enqueued). It is produced again with exponential back-off until it is acknowledged: an
/// allowed event is never skipped, and its partition's committed offset cannot pass it.
struct OutputRetry: Sendable {
    let topic: String
    /// An explicit partition (changelog records), or nil for the partitioner's choice.
    let partition: Int32?
    let key: [UInt8]?
    let value: [UInt8]?
    let headers: KafkaHeaders?
    let opaque: UInt
    var attempts: Int
    var due: ContinuousClock.Instant
    /// Memory this copy holds (key, value and headers), for the retry queue's byte budget.
    let bytes: Int

    static let firstBackOff: Duration = .milliseconds(100)
    static let maxBackOff: Duration = .seconds(10)

    /// - Parameter attempts: how many times this output has failed so far (at least 1).
    init(
        topic: String, partition: Int32? = nil, key: [UInt8]?, value: [UInt8]?, headers: KafkaHeaders?, opaque: UInt,
        attempts: Int = 1, now: ContinuousClock.Instant
    ) {
        self.topic = topic
        self.partition = partition
        self.key = key
        self.value = value
        self.headers = headers
        self.opaque = opaque
        self.attempts = attempts
        self.due = now + Self.backOff(afterAttempts: attempts)
        bytes = (key?.count ?? 0) + (value?.count ?? 0)
            + (headers.map { $0.view.reduce(0) { $0 + $1.name.utf8.count + ($1.value?.count ?? 0) } } ?? 0)
    }

    /// - Parameter partition: the partition the output must go to (changelog records), or nil
    ///   to let the partitioner place it by key again.
    init?(failed report: DeliveryReport, partition: Int32?, attempts: Int, now: ContinuousClock.Instant) {
        guard let message = report.undelivered else { return nil }
        self.init(
            topic: report.topic, partition: partition, key: message.key, value: message.value, headers: message.headers,
            opaque: report.opaque, attempts: attempts, now: now)
    }

    /// Schedules the next attempt after another failure.
    mutating func backOff(now: ContinuousClock.Instant) {
        attempts += 1
        due = now + Self.backOff(afterAttempts: attempts)
    }

    /// 100 ms, doubling per failure, at most 10 s: persistent failures do not spin.
    static func backOff(afterAttempts attempts: Int) -> Duration {
        min(firstBackOff * (1 << min(attempts - 1, 7)), maxBackOff)
    }

    /// Enqueues the output again.
    func send(with producer: KafkaProducer) throws(KafkaError) {
        var failure: KafkaError?
        Self.withBytes(key) { key in
            Self.withBytes(value) { value in
                do throws(KafkaError) {
                    try producer.send(topic: topic, partition: partition, key: key, value: value, headers: headers?.view, opaque: opaque)
                } catch {
                    failure = error
                }
            }
        }
        if let failure { throw failure }
    }

    private static func withBytes(_ bytes: [UInt8]?, _ body: (UnsafeRawBufferPointer?) -> Void) {
        guard let bytes else { return body(nil) }
        bytes.withUnsafeBytes { body($0) }
    }
}
