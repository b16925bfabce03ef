/// A contact address's subscription state for one channel or group (consent-rules section 5).
public enum SubscriptionStatus: UInt8, Sendable, CaseIterable {
    case subscribed = 1
    case unsubscribed = 2
    case didNotSubscribe = 3

    /// The upper-case spelling used in events and on the subscription topic.
    public var code: String {
        switch self {
        case .subscribed: "SUBSCRIBED"
        case .unsubscribed: "UNSUBSCRIBED"
        case .didNotSubscribe: "DID_NOT_SUBSCRIBE"
        }
    }

    /// Parses a status, ignoring ASCII case.
    public init?(code bytes: UnsafeRawBufferPointer) {
        if equalsIgnoringASCIICase(bytes, "SUBSCRIBED") {
            self = .subscribed
        } else if equalsIgnoringASCIICase(bytes, "UNSUBSCRIBED") {
            self = .unsubscribed
        } else if equalsIgnoringASCIICase(bytes, "DID_NOT_SUBSCRIBE") {
            self = .didNotSubscribe
        } else {
            return nil
        }
    }
}

extension Channel {
    /// Parses `EMAIL`, `SMS` or `WHATSAPP`, ignoring ASCII case.
    init?(subscriptionType bytes: UnsafeRawBufferPointer) {
        if equalsIgnoringASCIICase(bytes, "EMAIL") {
            self = .email
        } else if equalsIgnoringASCIICase(bytes, "SMS") {
            self = .sms
        } else if equalsIgnoringASCIICase(bytes, "WHATSAPP") {
            self = .whatsapp
        } else {
            return nil
        }
    }

    var keyByte: UInt8 {
        switch self {
        case .email: 1
        case .sms: 2
        case .whatsapp: 3
        }
    }
}

/// One state change carried by an identify's `context.messaging_subscriptions`: the status of
/// `address` on `channel`, or of its `group` on that channel. Emails are ASCII lower-cased.
/// Returned by the decider so the worker can publish it as well as apply it.
public struct SubscriptionUpdate: Sendable, Equatable {
    public var address: String
    public var channel: Channel
    public var group: String?
    public var status: SubscriptionStatus

    public init(address: String, channel: Channel, group: String? = nil, status: SubscriptionStatus) {
        self.address = channel == .email ? asciiLowercased(address) : address
        self.channel = channel
        self.group = group
        self.status = status
    }
}

/// Read access to subscription state, so the worker can share one sharded, locked store
/// between threads while `check` uses a plain `SubscriptionStore`.
public protocol SubscriptionLookup {
    /// The status of `address` on `channel`, or of its `group` there; nil when unknown.
    /// Email addresses compare ignoring ASCII case.
    func status(address: UnsafeRawBufferPointer, channel: Channel, group: UnsafeRawBufferPointer?) -> SubscriptionStatus?
}

/// Current subscription state per (address, channel) and (address, channel, group).
/// Unknown means not subscribed. Lookups take bytes and never allocate for addresses and group
/// names up to a few hundred bytes (keys are composed in a stack buffer).
public struct SubscriptionStore: SubscriptionLookup, Sendable {
    private var table = ByteStringTable()

    public init() {}

    /// Number of (address, channel[, group]) states held.
    public var count: Int { table.count }

    public func status(address: UnsafeRawBufferPointer, channel: Channel, group: UnsafeRawBufferPointer? = nil) -> SubscriptionStatus? {
        Self.withKey(address: address, channel: channel, group: group) { key in
            table.value(for: key).flatMap(SubscriptionStatus.init(rawValue:))
        }
    }

    public func status(address: String, channel: Channel, group: String? = nil) -> SubscriptionStatus? {
        address.withUTF8Bytes { address in
            if let group {
                group.withUTF8Bytes { status(address: address, channel: channel, group: $0) }
            } else {
                status(address: address, channel: channel, group: nil)
            }
        }
    }

    public mutating func apply(_ update: SubscriptionUpdate) {
        let status = update.status.rawValue
        update.address.withUTF8Bytes { address in
            guard let group = update.group else {
                Self.withKey(address: address, channel: update.channel, group: nil) { _ = table.set(status, for: $0) }
                return
            }
            group.withUTF8Bytes { group in
                Self.withKey(address: address, channel: update.channel, group: group) { _ = table.set(status, for: $0) }
            }
        }
    }

    public mutating func apply(_ updates: [SubscriptionUpdate]) {
        for update in updates { apply(update) }
    }

    /// Key layout: channel byte, group flag, address length (4 bytes), address (emails lower
    /// case), group name. The length prefix keeps address/group boundaries unambiguous.
    private static func withKey<R>(
        address: UnsafeRawBufferPointer, channel: Channel, group: UnsafeRawBufferPointer?,
        _ body: (UnsafeRawBufferPointer) -> R
    ) -> R {
        let size = 6 + address.count + (group?.count ?? 0)
        return withUnsafeTemporaryAllocation(byteCount: size, alignment: 1) { key in
            key[0] = channel.keyByte
            key[1] = group == nil ? 0 : 1
            var length = UInt32(truncatingIfNeeded: address.count)
            for i in 2..<6 {
                key[i] = UInt8(truncatingIfNeeded: length)
                length >>= 8
            }
            var position = 6
            for byte in address {
                key[position] = channel == .email ? asciiLowercase(byte) : byte
                position += 1
            }
            if let group {
                for byte in group {
                    key[position] = byte
                    position += 1
                }
            }
            return body(UnsafeRawBufferPointer(key))
        }
    }
}

/// Whether `bytes` spell `literal`, ignoring ASCII case.
func equalsIgnoringASCIICase(_ bytes: UnsafeRawBufferPointer, _ literal: StaticString) -> Bool {
    guard bytes.count == literal.utf8CodeUnitCount else { return false }
    let expected = literal.utf8Start
    for i in 0..<bytes.count where asciiLowercase(bytes[i]) != asciiLowercase(expected[i]) { return false }
    return true
}

/// Whether `bytes` spell `literal` exactly.
@inline(__always)
func equals(_ bytes: UnsafeRawBufferPointer, _ literal: StaticString) -> Bool {
    guard bytes.count == literal.utf8CodeUnitCount else { return false }
    let expected = literal.utf8Start
    for i in 0..<bytes.count where bytes[i] != expected[i] { return false }
    return true
}
