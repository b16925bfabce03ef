import ConsentEngine
import Foundation

/// An independent reading of one event by Foundation's JSON parser. The event targets use it
/// to check the engine from outside: a routed event must be an object Foundation reads too,
/// with a known type and an identity, and one whose identity is on the list must deliver
/// nowhere. Only events the engine routed are compared, and the engine forbids duplicates of
/// the keys read here, so Foundation's last-one-wins reading is unambiguous for them.
public struct FoundationReading {
    public let object: [String: Any]?

    public init(_ line: [UInt8]) {
        if let parsed = Self.parse(line) {
            object = parsed
        } else {
            // Foundation refuses numbers a Double cannot hold (`1e400`); the grammar allows
            // them and no rule reads a number's value, so read the event with them as 0.
            object = Self.parse(zeroingNumbers(line))
        }
    }

    private static func parse(_ bytes: [UInt8]) -> [String: Any]? {
        (try? JSONSerialization.jsonObject(with: Data(bytes))) as? [String: Any]
    }

    public static let eventTypes: Set<String> = ["track", "identify", "page", "screen", "group", "alias"]

    public var type: String? { object?["type"] as? String }

    func nonEmptyString(_ key: String) -> String? {
        guard let text = object?[key] as? String, !text.isEmpty else { return nil }
        return text
    }

    /// The addresses the rules read for suppression: `email` of context.traits, traits, properties.
    var emails: [String] {
        let holders = [(object?["context"] as? [String: Any])?["traits"], object?["traits"], object?["properties"]]
        return holders.compactMap { ($0 as? [String: Any])?["email"] as? String }.filter { !$0.isEmpty }
    }

    /// Whether consent-rules section 4 suppresses this event under `policy`.
    func isSuppressed(under policy: FuzzPolicy) -> Bool {
        let listed = policy.suppressedSubjects
        let identifiers = policy.identifiers
        if identifiers.contains(.userId), let id = nonEmptyString("userId"), listed.contains(id) { return true }
        if identifiers.contains(.anonymousId), let id = nonEmptyString("anonymousId"), listed.contains(id) { return true }
        if identifiers.contains(.email) {
            let listedEmails = Set(listed.map(asciiLowercased))
            if emails.contains(where: { listedEmails.contains(asciiLowercased($0)) }) { return true }
        }
        return false
    }
}

func asciiLowercased(_ text: String) -> String {
    String(decoding: text.utf8.map { $0 >= 0x41 && $0 <= 0x5A ? $0 + 0x20 : $0 }, as: UTF8.self)
}

/// `line` with every well-formed JSON number outside strings replaced by `0`.
func zeroingNumbers(_ line: [UInt8]) -> [UInt8] {
    var output: [UInt8] = []
    output.reserveCapacity(line.count)
    var i = 0
    var inString = false
    while i < line.count {
        let byte = line[i]
        if inString {
            output.append(byte)
            if byte == UInt8(ascii: "\\"), i + 1 < line.count {
                output.append(line[i + 1])
                i += 1
            } else if byte == UInt8(ascii: "\"") {
                inString = false
            }
            i += 1
            continue
        }
        if byte == UInt8(ascii: "-") || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")) {
            var end = i
            while end < line.count, isNumberByte(line[end]) { end += 1 }
            if isJSONNumber(line[i..<end]) {
                output.append(UInt8(ascii: "0"))
            } else {
                output.append(contentsOf: line[i..<end])
            }
            i = end
            continue
        }
        if byte == UInt8(ascii: "\"") { inString = true }
        output.append(byte)
        i += 1
    }
    return output
}

private func isNumberByte(_ byte: UInt8) -> Bool {
    (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")) || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "+")
        || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "e") || byte == UInt8(ascii: "E")
}

/// RFC 8259's number grammar: `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`.
private func isJSONNumber(_ token: ArraySlice<UInt8>) -> Bool {
    var bytes = token[...]
    func digits() -> Int {
        let count = bytes.prefix { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }.count
        bytes = bytes.dropFirst(count)
        return count
    }
    if bytes.first == UInt8(ascii: "-") { bytes = bytes.dropFirst() }
    if bytes.first == UInt8(ascii: "0") {
        bytes = bytes.dropFirst()
    } else if digits() == 0 {
        return false
    }
    if bytes.first == UInt8(ascii: ".") {
        bytes = bytes.dropFirst()
        if digits() == 0 { return false }
    }
    if bytes.first == UInt8(ascii: "e") || bytes.first == UInt8(ascii: "E") {
        bytes = bytes.dropFirst()
        if bytes.first == UInt8(ascii: "+") || bytes.first == UInt8(ascii: "-") { bytes = bytes.dropFirst() }
        if digits() == 0 { return false }
    }
    return bytes.isEmpty
}
