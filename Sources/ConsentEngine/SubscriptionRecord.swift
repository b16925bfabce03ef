/// The wire form of a `SubscriptionUpdate` on the compacted subscription topic, a changelog
/// partitioned like the ingest topic: a change decided from ingest partition P at offset O is
/// written to partition P with O in the value, so a replica taking over P can rebuild the
/// state exactly as of P's committed offset before replaying from it.
///
/// Key: `<channel>/<group length>/<group><address>`, or `<channel>/-/<address>` for the
/// channel itself, so compaction keeps the latest status per (address, channel, group) and
/// group names may contain any byte. Value: `<STATUS> <source offset>`, e.g. `SUBSCRIBED 42`.
public struct SubscriptionRecord: Sendable, Equatable {
    public var update: SubscriptionUpdate
    /// Offset of the identify event in its ingest partition.
    public var sourceOffset: Int64

    public init(update: SubscriptionUpdate, sourceOffset: Int64) {
        self.update = update
        self.sourceOffset = sourceOffset
    }

    public var key: [UInt8] { update.recordKey }

    public var value: [UInt8] { Array("\(update.status.code) \(sourceOffset)".utf8) }

    /// Parses a record; nil for anything malformed (the caller logs and skips it).
    public init?(key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer) {
        guard let space = value.firstIndex(of: UInt8(ascii: " ")),
            let offset = Int64(String(decoding: value[(space + 1)...], as: UTF8.self)), offset >= 0,
            let update = SubscriptionUpdate(recordKey: key, value: UnsafeRawBufferPointer(rebasing: value[..<space]))
        else { return nil }
        self.init(update: update, sourceOffset: offset)
    }
}

extension SubscriptionUpdate {
    /// The compaction key: one per (address, channel, group).
    public var recordKey: [UInt8] {
        var key = Array(channel.rawValue.utf8)
        key.append(UInt8(ascii: "/"))
        if let group {
            key.append(contentsOf: String(group.utf8.count).utf8)
            key.append(UInt8(ascii: "/"))
            key.append(contentsOf: group.utf8)
        } else {
            key.append(contentsOf: "-/".utf8)
        }
        key.append(contentsOf: address.utf8)
        return key
    }

    /// Parses a key and a bare status code.
    init?(recordKey key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer) {
        guard let status = SubscriptionStatus(code: value) else { return nil }
        let bytes = Array(key)
        guard let firstSlash = bytes.firstIndex(of: UInt8(ascii: "/")),
            let channel = Channel(rawValue: String(decoding: bytes[..<firstSlash], as: UTF8.self))
        else { return nil }
        let rest = bytes[(firstSlash + 1)...]
        guard let secondSlash = rest.firstIndex(of: UInt8(ascii: "/")) else { return nil }
        let lengthText = String(decoding: rest[..<secondSlash], as: UTF8.self)
        let tail = rest[(secondSlash + 1)...]
        let group: String?
        let address: ArraySlice<UInt8>
        if lengthText == "-" {
            group = nil
            address = tail
        } else {
            guard let length = Int(lengthText), length >= 0, length <= tail.count else { return nil }
            group = String(decoding: tail.prefix(length), as: UTF8.self)
            address = tail.dropFirst(length)
        }
        guard !address.isEmpty else { return nil }
        self.init(address: String(decoding: address, as: UTF8.self), channel: channel, group: group, status: status)
    }
}
