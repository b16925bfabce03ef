/// A big-endian bit stream read straight from base64url text (RFC 4648 section 5, no padding),
/// six bits per character, without decoding into a copy. The IAB TC and GPP strings are such
/// streams. The text must have been checked with `isBase64URL` first.
struct Base64URLBits {
    let text: UnsafeRawBufferPointer

    var bitCount: Int { text.count * 6 }

    /// Whether every byte is in the base64url alphabet (`=`, `+`, `/` and whitespace are not).
    static func isBase64URL(_ text: UnsafeRawBufferPointer) -> Bool {
        for byte in text where sextet(byte) > 63 { return false }
        return true
    }

    /// The value of a base64url character, or 0xFF.
    @inline(__always) static func sextet(_ byte: UInt8) -> UInt8 {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"): byte &- 65
        case UInt8(ascii: "a")...UInt8(ascii: "z"): byte &- 71
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte &+ 4
        case UInt8(ascii: "-"): 62
        case UInt8(ascii: "_"): 63
        default: 0xFF
        }
    }

    /// `count` bits (1...52) from bit `position`, which the caller has bounds-checked.
    @inline(__always) func bits(at position: Int, count: Int) -> UInt64 {
        let first = position / 6
        let last = (position + count - 1) / 6
        var value: UInt64 = 0
        var index = first
        while index <= last {
            value = value << 6 | UInt64(Self.sextet(text[index]))
            index += 1
        }
        let trailing = (last + 1) * 6 - (position + count)
        return (value >> UInt64(trailing)) & ((1 << UInt64(count)) - 1)
    }

    @inline(__always) func bit(at position: Int) -> Bool {
        Self.sextet(text[position / 6]) & (0x20 >> UInt8(position % 6)) != 0
    }
}

/// Why a signal string does not decode (it then grants nothing; consent-signals.md section 1).
struct SignalDecodeError: Error {}

/// Sequential reads over `Base64URLBits`, failing on truncation.
struct BitCursor {
    let bits: Base64URLBits
    var position: Int

    init(_ bits: Base64URLBits, at position: Int = 0) {
        self.bits = bits
        self.position = position
    }

    var remaining: Int { bits.bitCount - position }

    @inline(__always) mutating func read(_ count: Int) throws(SignalDecodeError) -> UInt64 {
        guard count <= remaining else { throw SignalDecodeError() }
        let value = bits.bits(at: position, count: count)
        position += count
        return value
    }

    @inline(__always) mutating func skip(_ count: Int) throws(SignalDecodeError) {
        guard count <= remaining else { throw SignalDecodeError() }
        position += count
    }

    /// A Fibonacci-coded positive integer (GPP): bit i is worth F(i+2) = 1, 2, 3, 5, 8, ...; the
    /// code word ends at the first `11`. Saturates at `fibonacciCeiling` (ids that large are
    /// treated as US state sections anyway).
    mutating func readFibonacci() throws(SignalDecodeError) -> UInt64 {
        var total: UInt64 = 0
        var value: UInt64 = 1
        var next: UInt64 = 2
        var last = false
        while true {
            guard remaining > 0 else { throw SignalDecodeError() }
            let bit = bits.bit(at: position)
            position += 1
            if bit && last { return total }
            if bit { total = min(total &+ value, Self.fibonacciCeiling) }
            (value, next) = (next, min(value &+ next, Self.fibonacciCeiling))
            last = bit
        }
    }

    static let fibonacciCeiling: UInt64 = 1 << 40
}

/// The part of `text` before the first `separator` (all of it when there is none).
@inline(__always) func prefix(_ text: UnsafeRawBufferPointer, upTo separator: UInt8) -> UnsafeRawBufferPointer {
    for i in 0..<text.count where text[i] == separator {
        return UnsafeRawBufferPointer(rebasing: text[0..<i])
    }
    return text
}
