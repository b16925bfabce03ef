/// An IAB US Privacy string v1.0 (`1YNN`): version `1`, then Notice, OptOutSale and
/// LspaCovered, each `Y`, `N` or `-`. nil when malformed.
struct USPrivacyString {
    /// OptOutSale is `Y`.
    let optsOutOfSale: Bool

    init?(_ text: UnsafeRawBufferPointer) {
        guard text.count == 4, text[0] == UInt8(ascii: "1") else { return nil }
        for i in 1..<4 {
            switch text[i] {
            case UInt8(ascii: "Y"), UInt8(ascii: "N"), UInt8(ascii: "-"): continue
            default: return nil
            }
        }
        optsOutOfSale = text[2] == UInt8(ascii: "Y")
    }

    /// The opt-out classes it signals: a sale opt-out covers sharing too (consent-signals.md 4).
    var optOuts: UInt8 { optsOutOfSale ? USOptOutSet.sale | USOptOutSet.sharing : 0 }
}

/// An IAB GPP string ("Consent String Specification"): a header (Type 3, Version 1, section ids
/// as Fibonacci-coded ranges), then one `~`-separated section per id. Sections 6 (uspv1) and 7
/// (usnat) are decoded, and must decode when present; every other section is opaque.
struct GPPString {
    /// Which of the US-relevant ids the header names.
    var sections = GPPSectionFlags()
    /// The opt-outs of section 6 and of section 7, when present.
    var uspv1OptOuts: UInt8 = 0
    var usnatOptOuts: UInt8 = 0

    /// A header naming more ids than this cannot match its sections (as the reference model).
    static let maxSectionIds = 4096

    static func decode(_ text: UnsafeRawBufferPointer) -> GPPString? {
        do throws(SignalDecodeError) {
            return try decodeOrThrow(text)
        } catch {
            return nil
        }
    }

    private static func decodeOrThrow(_ text: UnsafeRawBufferPointer) throws(SignalDecodeError) -> GPPString {
        let header = prefix(text, upTo: UInt8(ascii: "~"))
        guard Base64URLBits.isBase64URL(header) else { throw SignalDecodeError() }
        var cursor = BitCursor(Base64URLBits(text: header))
        guard try cursor.read(6) == 3, try cursor.read(6) == 1 else { throw SignalDecodeError() }
        var result = GPPString()
        var count = 0
        var last: UInt64 = 0
        var uspv1Index: Int?
        var usnatIndex: Int?
        for _ in 0..<(try cursor.read(12)) {
            let isRange = try cursor.read(1) == 1
            let first = min(last + (try cursor.readFibonacci()), BitCursor.fibonacciCeiling)
            let length = isRange ? try cursor.readFibonacci() : 0
            guard length < UInt64(maxSectionIds), count + Int(length) + 1 <= maxSectionIds else { throw SignalDecodeError() }
            let end = first + length
            if first <= 6 && 6 <= end { uspv1Index = count + Int(6 - first) }
            if first <= 7 && 7 <= end { usnatIndex = count + Int(7 - first) }
            if end >= 8 { result.sections.stateSection = true }
            count += Int(length) + 1
            last = end
        }
        result.sections.uspv1 = uspv1Index != nil
        result.sections.usnat = usnatIndex != nil
        // Exactly one section per id.
        var separators = 0
        for byte in text where byte == UInt8(ascii: "~") { separators += 1 }
        guard separators == count else { throw SignalDecodeError() }
        if let index = uspv1Index {
            guard let usp = USPrivacyString(section(text, index)) else { throw SignalDecodeError() }
            result.uspv1OptOuts = usp.optOuts
        }
        if let index = usnatIndex {
            result.usnatOptOuts = try usnatOptOuts(section(text, index))
        }
        return result
    }

    /// Section `index` (0-based, after the header).
    private static func section(_ text: UnsafeRawBufferPointer, _ index: Int) -> UnsafeRawBufferPointer {
        var seen = -1
        var start = 0
        for i in 0...text.count {
            if i == text.count || text[i] == UInt8(ascii: "~") {
                if seen == index { return UnsafeRawBufferPointer(rebasing: text[start..<i]) }
                seen += 1
                start = i + 1
            }
        }
        return UnsafeRawBufferPointer(start: nil, count: 0)
    }

    /// US National (usnat, section 7), versions 1 and 2: Version 6, nine 2-bit notice and
    /// opt-out fields (SaleOptOut, SharingOptOut, TargetedAdvertisingOptOut last), the
    /// sensitive-data lists (12 and 2 entries in v1, 16 and 3 in v2 and in a v1 core long enough
    /// for them, as iabgpp-java wrote it), then four 2-bit fields. Each `.` subsection must be
    /// base64url with at least its 2-bit type (type 1, GPC, adds one bit). Opt-out means `1`.
    static func usnatOptOuts(_ text: UnsafeRawBufferPointer) throws(SignalDecodeError) -> UInt8 {
        let core = prefix(text, upTo: UInt8(ascii: "."))
        guard Base64URLBits.isBase64URL(core) else { throw SignalDecodeError() }
        let bits = Base64URLBits(text: core)
        var cursor = BitCursor(bits)
        let version = try cursor.read(6)
        guard version == 1 || version == 2 else { throw SignalDecodeError() }
        let longLists = version == 2 || bits.bitCount >= 70
        let total = 6 + 9 * 2 + (longLists ? (16 + 3) * 2 : (12 + 2) * 2) + 4 * 2
        guard bits.bitCount >= total else { throw SignalDecodeError() }
        var optOuts: UInt8 = 0
        if bits.bits(at: 18, count: 2) == 1 { optOuts |= USOptOutSet.sale }
        if bits.bits(at: 20, count: 2) == 1 { optOuts |= USOptOutSet.sharing }
        if bits.bits(at: 22, count: 2) == 1 { optOuts |= USOptOutSet.targetedAdvertising }
        var rest = UnsafeRawBufferPointer(rebasing: text[core.count...])
        while !rest.isEmpty {
            rest = UnsafeRawBufferPointer(rebasing: rest[1...])  // the '.'
            let subsection = prefix(rest, upTo: UInt8(ascii: "."))
            guard !subsection.isEmpty, Base64URLBits.isBase64URL(subsection) else { throw SignalDecodeError() }
            rest = UnsafeRawBufferPointer(rebasing: rest[subsection.count...])
        }
        return optOuts
    }
}
