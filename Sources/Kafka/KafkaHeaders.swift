import CRdKafka

/// A read-only view of Kafka record headers (`rd_kafka_headers_t`) that keeps their owner (a
/// consumed `MessageBatch` or a `KafkaHeaders`) alive. Producing with it copies the list inside
/// librdkafka (`rd_kafka_headers_copy`), so forwarding a consumed message's headers costs no
/// Swift allocation per header.
///
/// `@unchecked Sendable`: the list is never mutated after construction and its owner is retained.
public struct MessageHeaders: @unchecked Sendable, Sequence {
    /// One header; `value` is nil for a null header value. Valid while the view is alive.
    public struct Header {
        public let name: String
        public let value: UnsafeRawBufferPointer?
    }

    let pointer: OpaquePointer
    private let owner: AnyObject

    init(pointer: OpaquePointer, owner: AnyObject) {
        self.pointer = pointer
        self.owner = owner
    }

    public var count: Int { rd_kafka_header_cnt(pointer) }

    /// The value of the last header named `name` (Kafka allows repeats), nil if absent or null.
    /// Valid while this view is alive.
    public func lastValue(forName name: String) -> UnsafeRawBufferPointer? {
        var value: UnsafeRawPointer?
        var size = 0
        guard rd_kafka_header_get_last(pointer, name, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR,
            let value
        else { return nil }
        return UnsafeRawBufferPointer(start: value, count: size)
    }

    /// The last header named `name` as bytes (copied).
    public func lastBytes(forName name: String) -> [UInt8]? {
        lastValue(forName: name).map { Array($0) }
    }

    public struct Iterator: IteratorProtocol {
        let pointer: OpaquePointer
        var index = 0

        public mutating func next() -> Header? {
            var name: UnsafePointer<CChar>?
            var value: UnsafeRawPointer?
            var size = 0
            guard rd_kafka_header_get_all(pointer, index, &name, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR else {
                return nil
            }
            index += 1
            return Header(name: String(cString: name!), value: value.map { UnsafeRawBufferPointer(start: $0, count: size) })
        }
    }

    /// Iterates headers in order; keep the view alive while using the yielded values.
    public func makeIterator() -> Iterator { Iterator(pointer: pointer) }
}

/// An owned, immutable header list, for building outgoing headers or keeping a copy of a
/// message's headers beyond its batch (e.g. in a failed delivery report).
public final class KafkaHeaders: Sendable {
    // `Sendable`: immutable after init; librdkafka only reads it (copying on produce).
    nonisolated(unsafe) let pointer: OpaquePointer

    /// Headers in order; a nil value is a null header value.
    public init(_ headers: [(name: String, value: [UInt8]?)]) {
        // librdkafka 2.0.2 crashes reading a list created with capacity 0.
        pointer = rd_kafka_headers_new(max(headers.count, 1))
        for header in headers {
            if let value = header.value {
                value.withUnsafeBytes { bytes in
                    _ = rd_kafka_header_add(pointer, header.name, -1, bytes.baseAddress, bytes.count)
                }
            } else {
                _ = rd_kafka_header_add(pointer, header.name, -1, nil, 0)
            }
        }
    }

    /// A copy of `headers`, independent of their owner's lifetime.
    public convenience init(copying headers: MessageHeaders) {
        self.init(adopting: rd_kafka_headers_copy(headers.pointer))
    }

    /// Takes ownership of an `rd_kafka_headers_t`.
    init(adopting pointer: OpaquePointer) {
        self.pointer = pointer
    }

    deinit { rd_kafka_headers_destroy(pointer) }

    public var view: MessageHeaders { MessageHeaders(pointer: pointer, owner: self) }
}
