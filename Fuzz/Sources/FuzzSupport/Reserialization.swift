/// How `reserialized` lays out the whitespace between tokens.
public enum Reserialization: CaseIterable, Sendable {
    /// None where a structural character or an end borders it, one space elsewhere.
    case compact
    /// Several bytes around every structural character and in place of every run.
    case spacious
    /// Whitespace kept, and every ASCII letter of every string (keys included) written as a
    /// `\u00XX` escape: the same JSON text.
    case escaped
}

/// The same bytes with different whitespace between tokens, or with strings escaped
/// differently, for the invariant that a decision does not depend on either. Outside strings,
/// each run of JSON whitespace is replaced and, in the spacious layout, whitespace is added next
/// to `{ } [ ] , :` that have none. A run between two other tokens (`1 2`, `true "x"`) stays
/// non-empty, so tokens never merge. Strings, even an unterminated one, are copied unchanged
/// except for the escaped layout's letters, and so is every other byte. No `\n` is written: the
/// event targets split their input into lines.
public func reserialized(_ bytes: some Collection<UInt8>, as layout: Reserialization) -> [UInt8] {
    let input = Array(bytes)
    var output: [UInt8] = []
    output.reserveCapacity(input.count * 2)
    let spacer: [UInt8] = [0x20, 0x09, 0x0D, 0x20]
    var i = 0
    var inString = false
    while i < input.count {
        let byte = input[i]
        if inString {
            if byte == UInt8(ascii: "\\") {
                // An escape is copied whole: `\u` with its hex digits, else two bytes.
                var end = min(i + 2, input.count)
                if end == i + 2, input[i + 1] == UInt8(ascii: "u") {
                    while end < min(i + 6, input.count), isHexDigit(input[end]) { end += 1 }
                }
                output.append(contentsOf: input[i..<end])
                i = end
                continue
            }
            if byte == UInt8(ascii: "\"") {
                inString = false
            } else if layout == .escaped, isASCIILetter(byte) {
                output.append(contentsOf: Array("\\u00".utf8) + hexDigits(byte))
                i += 1
                continue
            }
            output.append(byte)
            i += 1
            continue
        }
        if isWhitespace(byte) {
            let runStart = i
            while i < input.count, isWhitespace(input[i]) { i += 1 }
            let bordered = runStart == 0 || i == input.count || isStructural(input[runStart - 1]) || isStructural(input[i])
            switch layout {
            case .compact: if !bordered { output.append(0x20) }
            case .spacious: output.append(contentsOf: spacer)
            case .escaped: output.append(contentsOf: input[runStart..<i])
            }
            continue
        }
        let structural = isStructural(byte)
        if structural, layout == .spacious, output.last.map(isWhitespace) != true { output.append(contentsOf: spacer) }
        output.append(byte)
        if byte == UInt8(ascii: "\"") { inString = true }
        i += 1
        if structural, layout == .spacious, i < input.count, !isWhitespace(input[i]) { output.append(contentsOf: spacer) }
    }
    return output
}

private func isASCIILetter(_ byte: UInt8) -> Bool {
    (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z")) || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
}

private func isHexDigit(_ byte: UInt8) -> Bool {
    (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")) || (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "f"))
        || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "F"))
}

private func hexDigits(_ byte: UInt8) -> [UInt8] {
    let digits = Array("0123456789abcdef".utf8)
    return [digits[Int(byte >> 4)], digits[Int(byte & 0x0F)]]
}

@inline(__always) private func isWhitespace(_ byte: UInt8) -> Bool {
    byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D
}

@inline(__always) private func isStructural(_ byte: UInt8) -> Bool {
    switch byte {
    case UInt8(ascii: "{"), UInt8(ascii: "}"), UInt8(ascii: "["), UInt8(ascii: "]"), UInt8(ascii: ","), UInt8(ascii: ":"): true
    default: false
    }
}
