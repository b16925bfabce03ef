import CRdKafka

/// The outcome of one produced message, surfaced by `KafkaProducer.pollDeliveryReports`.
public struct DeliveryReport: Sendable {
    /// A copy of a message librdkafka gave up on, so the caller can produce it again instead of
    /// losing it (librdkafka's own retries are exhausted when a report carries an error).
    public struct UndeliveredMessage: Sendable {
        public let key: [UInt8]?
        public let value: [UInt8]?
        public let headers: KafkaHeaders?
    }

    public let topic: String
    /// The partition written to; -1 if the message failed before a partition was chosen.
    public let partition: Int32
    /// The offset written at; negative if unknown (failure, or `acks=0`).
    public let offset: Int64
    /// The token given to `send`.
    public let opaque: UInt
    /// Nil on success.
    public let error: KafkaError?
    /// Set exactly when `error` is set.
    public let undelivered: UndeliveredMessage?

    /// Reads a delivery-report message. Success copies nothing but scalars; failure copies
    /// key, value and headers (detached from the message, which is destroyed right after).
    init(_ message: UnsafeMutablePointer<rd_kafka_message_t>) {
        let m = message.pointee
        topic = KafkaProducer.TopicHandle.from(m.rkt).name
        partition = m.partition
        offset = m.offset
        opaque = UInt(bitPattern: m._private)
        guard m.err != RD_KAFKA_RESP_ERR_NO_ERROR else {
            error = nil
            undelivered = nil
            return
        }
        error = KafkaError(m.err, "deliver to \"\(topic)\"")
        var headers: OpaquePointer?
        let detached = rd_kafka_message_detach_headers(message, &headers) == RD_KAFKA_RESP_ERR_NO_ERROR
        undelivered = UndeliveredMessage(
            key: m.key.map { Array(UnsafeRawBufferPointer(start: $0, count: m.key_len)) },
            value: m.payload.map { Array(UnsafeRawBufferPointer(start: $0, count: m.len)) },
            headers: detached ? headers.map { KafkaHeaders(adopting: $0) } : nil
        )
    }
}
