/// A JSON value as a small tree, only for `context.messaging_subscriptions`, which is read
/// rarely (identify events that carry it) and after the scanner has validated it.
indirect enum JSONNode {
    case object([(key: String, value: JSONNode)])
    case array([JSONNode])
    case string(String)
    case number
    case bool(Bool)
    case null
}

/// Reads a value that `EventParser` has already validated, so it does not re-check syntax.
struct ValidatedJSONReader {
    private let bytes: UnsafeRawBufferPointer
    private var i = 0

    init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    mutating func read() -> JSONNode {
        skipWhitespace()
        switch bytes[i] {
        case UInt8(ascii: "{"):
            i += 1
            var fields: [(key: String, value: JSONNode)] = []
            skipWhitespace()
            while bytes[i] != UInt8(ascii: "}") {
                let key = readString()
                skipWhitespace()
                i += 1  // ':'
                fields.append((key, read()))
                skipWhitespace()
                if bytes[i] == UInt8(ascii: ",") { i += 1; skipWhitespace() }
            }
            i += 1
            return .object(fields)
        case UInt8(ascii: "["):
            i += 1
            var elements: [JSONNode] = []
            skipWhitespace()
            while bytes[i] != UInt8(ascii: "]") {
                elements.append(read())
                skipWhitespace()
                if bytes[i] == UInt8(ascii: ",") { i += 1 }
                skipWhitespace()
            }
            i += 1
            return .array(elements)
        case UInt8(ascii: "\""):
            return .string(readString())
        case UInt8(ascii: "t"):
            i += 4
            return .bool(true)
        case UInt8(ascii: "f"):
            i += 5
            return .bool(false)
        case UInt8(ascii: "n"):
            i += 4
            return .null
        default:
            while i < bytes.count, !isNumberEnd(bytes[i]) { i += 1 }
            return .number
        }
    }

    private func isNumberEnd(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: ","), UInt8(ascii: "}"), UInt8(ascii: "]"), 0x20, 0x09, 0x0A, 0x0D: true
        default: false
        }
    }

    private mutating func skipWhitespace() {
        while i < bytes.count, bytes[i] == 0x20 || bytes[i] == 0x09 || bytes[i] == 0x0A || bytes[i] == 0x0D { i += 1 }
    }

    private mutating func readString() -> String {
        i += 1
        let start = i
        while bytes[i] != UInt8(ascii: "\"") { i += bytes[i] == UInt8(ascii: "\\") ? 2 : 1 }
        let raw = UnsafeRawBufferPointer(rebasing: bytes[start..<i]).bindMemory(to: UInt8.self)
        i += 1
        return String(unsafeUninitializedCapacity: raw.count) { out in
            decodeJSONStringContent(raw, into: out.baseAddress!)
        }
    }
}

/// Parses `[{"key": ADDRESS, "type": "EMAIL|SMS|WHATSAPP", "status": STATUS,
/// "groups": [{"name": N, "status": S}]}]` into flat updates, or nil when malformed: not an
/// array, an entry without a non-empty string `key` or a known `type`, an unknown `status`
/// (statuses and types ignore case), a group without a non-empty `name` and known `status`,
/// or a repeated key in an entry. Other keys are ignored; `status` and `groups` are optional.
func parseSubscriptionUpdates(_ bytes: UnsafeRawBufferPointer) -> [SubscriptionUpdate]? {
    var reader = ValidatedJSONReader(bytes)
    guard case .array(let entries) = reader.read() else { return nil }
    var updates: [SubscriptionUpdate] = []
    for entry in entries {
        guard case .object(let fields) = entry, Set(fields.map(\.key)).count == fields.count else { return nil }
        let field = { (name: String) in fields.first { $0.key == name }?.value }
        guard case .string(let address)? = field("key"), !address.isEmpty,
              case .string(let type)? = field("type"),
              let channel = type.withUTF8Bytes({ Channel(subscriptionType: $0) })
        else { return nil }
        if let status = field("status") {
            guard let parsed = subscriptionStatus(status) else { return nil }
            updates.append(SubscriptionUpdate(address: address, channel: channel, status: parsed))
        }
        if let groups = field("groups") {
            guard case .array(let groups) = groups else { return nil }
            for group in groups {
                guard case .object(let groupFields) = group, Set(groupFields.map(\.key)).count == groupFields.count,
                      case .string(let name)? = groupFields.first(where: { $0.key == "name" })?.value, !name.isEmpty,
                      let status = groupFields.first(where: { $0.key == "status" }).flatMap({ subscriptionStatus($0.value) })
                else { return nil }
                updates.append(SubscriptionUpdate(address: address, channel: channel, group: name, status: status))
            }
        }
    }
    return updates
}

private func subscriptionStatus(_ node: JSONNode) -> SubscriptionStatus? {
    guard case .string(let text) = node else { return nil }
    return text.withUTF8Bytes { SubscriptionStatus(code: $0) }
}
