import CRdKafka

/// Messages from one `KafkaConsumer.consume` call. Owns librdkafka's message objects and
/// destroys them when the last reference goes, so keys, values and headers are read in place
/// (zero-copy) for as long as the batch — or any `KafkaMessage` from it — is alive.
///
/// `@unchecked Sendable`: after construction nothing mutates the messages (headers are parsed
/// eagerly, since librdkafka parses them lazily on first access, which would race), so reading
/// them from several threads is safe. Destruction happens once, when no reference remains.
public final class MessageBatch: @unchecked Sendable, RandomAccessCollection {
    private let messages: UnsafeMutablePointer<UnsafeMutablePointer<rd_kafka_message_t>?>
    public let count: Int

    /// Takes ownership of `count` messages in `messages` (a buffer allocated by the caller).
    init(adopting messages: UnsafeMutablePointer<UnsafeMutablePointer<rd_kafka_message_t>?>, count: Int) {
        self.messages = messages
        self.count = count
    }

    deinit {
        for i in 0..<count { rd_kafka_message_destroy(messages[i]) }
        messages.deallocate()
    }

    public var startIndex: Int { 0 }
    public var endIndex: Int { count }

    public subscript(index: Int) -> KafkaMessage {
        precondition(index >= 0 && index < count, "message index out of range")
        return KafkaMessage(pointer: messages[index]!, batch: self)
    }
}

/// One consumed message, read in place. Keeps its batch alive. Buffers it hands out
/// (`key`, `value`, header values) are valid while this message or its batch is alive.
public struct KafkaMessage: @unchecked Sendable {
    // `@unchecked Sendable`: see `MessageBatch`; the pointer is owned by `batch`, retained here.
    let pointer: UnsafeMutablePointer<rd_kafka_message_t>
    public let batch: MessageBatch

    public var topic: String { String(cString: rd_kafka_topic_name(pointer.pointee.rkt)) }
    public var partition: Int32 { pointer.pointee.partition }
    public var offset: Int64 { pointer.pointee.offset }

    /// Nil for a null key.
    public var key: UnsafeRawBufferPointer? {
        pointer.pointee.key.map { UnsafeRawBufferPointer(start: $0, count: pointer.pointee.key_len) }
    }

    /// Nil for a null value (tombstone).
    public var value: UnsafeRawBufferPointer? {
        pointer.pointee.payload.map { UnsafeRawBufferPointer(start: $0, count: pointer.pointee.len) }
    }

    /// Nil when the message has no headers (or is an error).
    public var headers: MessageHeaders? {
        // Error messages were not parsed eagerly; parsing here could race with other readers.
        guard pointer.pointee.err == RD_KAFKA_RESP_ERR_NO_ERROR else { return nil }
        var headers: OpaquePointer?
        guard rd_kafka_message_headers(pointer, &headers) == RD_KAFKA_RESP_ERR_NO_ERROR, let headers else { return nil }
        return MessageHeaders(pointer: headers, owner: batch)
    }

    /// Milliseconds since the epoch (create or log-append time), nil if unavailable.
    public var timestamp: Int64? {
        var type = RD_KAFKA_TIMESTAMP_NOT_AVAILABLE
        let ms = rd_kafka_message_timestamp(pointer, &type)
        return type == RD_KAFKA_TIMESTAMP_NOT_AVAILABLE ? nil : ms
    }

    /// A consumer error delivered in place of a message (e.g. unknown topic, offset out of
    /// range); key/value are meaningless then.
    public var error: KafkaError? {
        let err = pointer.pointee.err
        guard err != RD_KAFKA_RESP_ERR_NO_ERROR else { return nil }
        let place = pointer.pointee.rkt.map { "\(String(cString: rd_kafka_topic_name($0)))[\(partition)]" } ?? "consumer"
        return KafkaError(err, "consume \(place)", message: String(cString: rd_kafka_message_errstr(pointer)))
    }
}
