import ConsentEngine
import Foundation
import TestSupport
import Testing

/// Property test: on random and mutated inputs, the scanner accepts exactly what Foundation's
/// JSONSerialization accepts, and extracts the same fields from it.
///
/// Deliberate differences (inputs showing them are excluded, each with a reason):
/// - Foundation skips a UTF-8 byte order mark and guesses UTF-16/32 from NUL bytes at the
///   start; events are UTF-8 without a BOM (RFC 8259 section 8.1), so the scanner rejects both.
/// - Foundation accepts a trailing comma in arrays and objects; RFC 8259 does not.
/// - Foundation rejects numbers that overflow a Double (`1e400`); the grammar allows them and
///   the rules never read a number's value.
@Suite struct FoundationOracleTests {
    let policy: CompiledPolicy = {
        var policy = standardPolicy
        policy.limits = Limits(maxEventBytes: 1 << 20, maxDepth: 256)
        return compile(policy)
    }()

    static let seed: UInt64 = 0x5EED_C0DE

    @Test func generatedEventsAgreeWithFoundation() {
        var random = SeededGenerator(seed: Self.seed)
        var generator = EventGenerator()
        var accepted = 0
        for iteration in 0..<3000 {
            let input = generator.event(&random)
            if compare(input, iteration: iteration) == .accepted { accepted += 1 }
        }
        #expect(accepted > 2500, "most generated events should be valid JSON")
    }

    @Test func mutatedEventsAgreeWithFoundation() {
        var random = SeededGenerator(seed: Self.seed ^ 0xFFFF)
        var generator = EventGenerator()
        var verdicts: [Verdict: Int] = [:]
        for iteration in 0..<10_000 {
            var input = generator.event(&random)
            for _ in 0..<Int.random(in: 1...2, using: &random) { mutate(&input, &random) }
            verdicts[compare(input, iteration: iteration), default: 0] += 1
        }
        // Both outcomes must be exercised, or the comparison proves little.
        #expect(verdicts[.accepted, default: 0] > 1000)
        #expect(verdicts[.rejected, default: 0] > 3000)
    }

    enum Verdict { case accepted, rejected, excluded }

    func compare(_ input: [UInt8], iteration: Int) -> Verdict {
        if input.starts(with: [0xEF, 0xBB, 0xBF]) || input.prefix(4).contains(0) { return .excluded }
        let oracle = try? JSONSerialization.jsonObject(with: Data(input), options: [.fragmentsAllowed])
        let scanned = scan(input, policy: policy)
        let scannerAcceptsJSON: Bool
        switch scanned {
        case .success: scannerAcceptsJSON = true
        case .failure(let reason): scannerAcceptsJSON = ![.invalidJSON, .invalidUTF8, .tooDeep, .tooLarge].contains(reason)
        }
        let context = "seed \(Self.seed) iteration \(iteration): \(String(decoding: input, as: UTF8.self).debugDescription)"
        if scannerAcceptsJSON != (oracle != nil) {
            if oracle != nil, scan(removingTrailingCommas(input), policy: policy).failureValue != .invalidJSON { return .excluded }
            if oracle == nil, hasOverflowingNumber(input) { return .excluded }
            Issue.record("scanner \(scanned) vs Foundation \(oracle == nil ? "reject" : "accept"): \(context)")
            return .rejected
        }
        guard let oracle else { return .rejected }
        if case .success(let event) = scanned, let object = oracle as? [String: Any] {
            compareFields(event, object, context)
        }
        return .accepted
    }

    func compareFields(_ event: Extracted, _ object: [String: Any], _ context: String) {
        #expect(event.type?.rawValue == object["type"] as? String, "\(context)")
        #expect(event.userId == nonEmptyString(object["userId"]), "\(context)")
        #expect(event.anonymousId == nonEmptyString(object["anonymousId"]), "\(context)")
        #expect(event.messageId == object["messageId"] as? String, "\(context)")
        let contextObject = object["context"] as? [String: Any]
        let preferences = (contextObject?["consent"] as? [String: Any])?["categoryPreferences"] as? [String: Any]
        #expect(event.hasPreferences == (preferences != nil), "\(context)")
        let granted = policy.categories.filter { isTrue(preferences?[$0]) }
        #expect(event.granted == granted, "\(context)")
        #expect(event.gpc == isTrue(contextObject?["gpc"]), "\(context)")
        let traitsEmail = nonEmptyString((object["traits"] as? [String: Any])?["email"])
        #expect(event.emails[ContactSource.traits.rawValue] == traitsEmail, "\(context)")
    }

    func nonEmptyString(_ value: Any?) -> String? {
        guard let text = value as? String, !text.isEmpty else { return nil }
        return text
    }

    /// JSON `true` (Foundation's NSNumber for 1 also casts to Bool, so check the boolean type).
    func isTrue(_ value: Any?) -> Bool {
        guard let number = value as? NSNumber, String(cString: number.objCType) == "c" else { return false }
        return number.boolValue
    }

    func removingTrailingCommas(_ input: [UInt8]) -> [UInt8] {
        var output: [UInt8] = []
        var inString = false
        var escaped = false
        for byte in input {
            if inString {
                if escaped { escaped = false } else if byte == UInt8(ascii: "\\") { escaped = true } else if byte == UInt8(ascii: "\"") { inString = false }
            } else if byte == UInt8(ascii: "\"") {
                inString = true
            } else if byte == UInt8(ascii: "]") || byte == UInt8(ascii: "}") {
                while let last = output.last, [0x20, 0x09, 0x0A, 0x0D].contains(last) { output.removeLast() }
                if output.last == UInt8(ascii: ",") { output.removeLast() }
            }
            output.append(byte)
        }
        return output
    }

    func hasOverflowingNumber(_ input: [UInt8]) -> Bool {
        let text = String(decoding: input, as: UTF8.self)
        let numberCharacters = Set("0123456789+-.eE")
        return text.split { !numberCharacters.contains($0) }.contains { token in
            Double(token).map { $0.isInfinite } ?? false
        }
    }

    func mutate(_ input: inout [UInt8], _ random: inout SeededGenerator) {
        guard !input.isEmpty else { return }
        let position = Int.random(in: 0..<input.count, using: &random)
        let interesting: [UInt8] = Array(#"{}[]",:\0123456789.eE+-tfnu "#.utf8) + [0x00, 0x09, 0x0A, 0x1F, 0x7F, 0x80, 0xBF, 0xC0, 0xC3, 0xE0, 0xED, 0xF0, 0xF4, 0xFF]
        switch Int.random(in: 0..<5, using: &random) {
        case 0: input[position] = interesting.randomElement(using: &random)!
        case 1: input.insert(interesting.randomElement(using: &random)!, at: position)
        case 2: input.remove(at: position)
        case 3: input.removeSubrange(position...)
        default: input[position] = UInt8.random(in: 0...255, using: &random)
        }
    }
}

/// Random Segment-like events: mostly the fields the rules read, with random escapes,
/// numbers, whitespace and nesting.
struct EventGenerator {
    let categories = ["Advertising", "Analytics", "Functional", "DataSharing", "Café", "Other"]
    let types = ["track", "identify", "page", "screen", "group", "alias"]

    mutating func event(_ random: inout SeededGenerator) -> [UInt8] {
        var fields: [(String, String)] = []
        if Int.random(in: 0..<20, using: &random) != 0 { fields.append(("type", string(types.randomElement(using: &random)!, &random))) }
        if Bool.random(using: &random) { fields.append(("userId", string("user-\(Int.random(in: 0..<100, using: &random))é", &random))) }
        if Bool.random(using: &random) { fields.append(("anonymousId", string("anon-\(Int.random(in: 0..<100, using: &random))", &random))) }
        fields.append(("messageId", string("m-\"\(Int.random(in: 0..<1000, using: &random))\\\u{1F600}", &random)))
        if Bool.random(using: &random) {
            var context: [(String, String)] = [("ip", string("203.0.113.9", &random))]
            if Int.random(in: 0..<4, using: &random) != 0 {
                let preferences = categories.shuffled(using: &random).prefix(Int.random(in: 0...4, using: &random)).map {
                    ($0, Bool.random(using: &random) ? "true" : "false")
                }
                context.append(("consent", object([("categoryPreferences", object(preferences, &random))], &random)))
            }
            if Bool.random(using: &random) { context.append(("gpc", Bool.random(using: &random) ? "true" : "false")) }
            fields.append(("context", object(context, &random)))
        }
        if Bool.random(using: &random) { fields.append(("traits", object([("email", string("a\(Int.random(in: 0..<9, using: &random))@x.io", &random))], &random))) }
        fields.append(("properties", value(depth: 0, &random)))
        return Array(object(fields.shuffled(using: &random), &random).utf8)
    }

    func whitespace(_ random: inout SeededGenerator) -> String {
        [" ", "", "", "\n", "\t", "\r\n"].randomElement(using: &random)!
    }

    func object(_ fields: [(String, String)], _ random: inout SeededGenerator) -> String {
        let members = fields.map { key, value in
            whitespace(&random) + string(key, &random) + whitespace(&random) + ":" + whitespace(&random) + value
        }
        return "{" + members.joined(separator: ",") + whitespace(&random) + "}"
    }

    /// A JSON string literal for `text`, escaping some characters at random.
    func string(_ text: String, _ random: inout SeededGenerator) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case _ where scalar.value < 0x20 || Int.random(in: 0..<8, using: &random) == 0:
                for unit in String(scalar).utf16 { out += "\\u" + String(unit, radix: 16).leftPadded(to: 4) }
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }

    func value(depth: Int, _ random: inout SeededGenerator) -> String {
        switch Int.random(in: 0..<(depth > 6 ? 5 : 8), using: &random) {
        case 0: return ["true", "false", "null"].randomElement(using: &random)!
        case 1: return ["0", "-0", "12", "-3.25", "1e5", "2E-3", "6.02e+23", "-0.0e0"].randomElement(using: &random)!
        case 2, 3: return string(["", "x", "ümlaut", "tab\there", "😀", "\u{7F}"].randomElement(using: &random)!, &random)
        case 4: return "[]"
        case 5: return "[" + (0..<Int.random(in: 1...3, using: &random)).map { _ in value(depth: depth + 1, &random) }.joined(separator: ",") + "]"
        default:
            let fields = (0..<Int.random(in: 0...3, using: &random)).map { i in ("k\(i)", value(depth: depth + 1, &random)) }
            return object(fields, &random)
        }
    }
}

extension String {
    func leftPadded(to width: Int) -> String { String(repeating: "0", count: max(0, width - count)) + self }
}
