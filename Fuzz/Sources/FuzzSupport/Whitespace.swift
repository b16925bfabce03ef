/// How `rewhitespaced` lays out the whitespace between tokens.
public enum WhitespaceLayout: CaseIterable, Sendable {
    /// None where a structural character or an end borders it, one space elsewhere.
    case compact
    /// Several bytes around every structural character and in place of every run.
    case spacious
}

/// The same bytes with different whitespace between tokens, for the invariant that a decision
/// does not depend on it. Outside strings, each run of JSON whitespace is replaced and, in the
/// spacious layout, whitespace is added next to `{ } [ ] , :` that have none. A run between two
/// other tokens (`1 2`, `true "x"`) stays non-empty, so tokens never merge. Strings, even an
/// unterminated one, are copied unchanged, and so is every other byte. No `\n` is written: the
/// event targets split their input into lines.
public func rewhitespaced(_ bytes: some Collection<UInt8>, layout: WhitespaceLayout) -> [UInt8] {
    let input = Array(bytes)
    var output: [UInt8] = []
    output.reserveCapacity(input.count * 2)
    let spacer: [UInt8] = [0x20, 0x09, 0x0D, 0x20]
    var i = 0
    var inString = false
    while i < input.count {
        let byte = input[i]
        if inString {
            output.append(byte)
            if byte == UInt8(ascii: "\\"), i + 1 < input.count {
                output.append(input[i + 1])
                i += 1
            } else if byte == UInt8(ascii: "\"") {
                inString = false
            }
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

@inline(__always) private func isWhitespace(_ byte: UInt8) -> Bool {
    byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D
}

@inline(__always) private func isStructural(_ byte: UInt8) -> Bool {
    switch byte {
    case UInt8(ascii: "{"), UInt8(ascii: "}"), UInt8(ascii: "["), UInt8(ascii: "]"), UInt8(ascii: ","), UInt8(ascii: ":"): true
    default: false
    }
}
