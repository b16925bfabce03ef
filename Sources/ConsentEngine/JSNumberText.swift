/// The text JavaScript's `String()` gives for a JSON number (ECMAScript Number::toString, radix
/// 10), which is how a numeric `userId` is compared with the suppression list
/// (consent-rules section 7): Segment's libraries turn numeric ids into strings that way, so
/// `42`, `42.0`, `4.2e1` and `4200e-2` all name the subject "42".
///
/// Cost: a literal with at most 15 significant digits whose magnitude lies well inside the
/// normal double range is canonicalised without allocating. Every such decimal round-trips
/// through a double (DBL_DIG is 15), so the double's shortest digits are exactly the literal's
/// significant digits and only their layout changes. Longer literals (16+ significant digits,
/// which a double cannot hold exactly) and exponents beyond ±300 go through `Double`'s parser
/// and `description` (shortest round-trip digits), which allocate. Numeric userIds are rare and
/// not identities, so ordinary events never take that path.
enum JSNumberText {
    /// Bytes `write` may produce: sign, 17 digits, point, and up to 6 more ("0.00000" or "e+308").
    static let capacity = 32

    /// Writes the text for `literal` (valid JSON number syntax) to `out`, which holds
    /// `capacity` bytes; returns its length.
    static func write(literal: UnsafeBufferPointer<UInt8>, into out: UnsafeMutablePointer<UInt8>) -> Int {
        let decimal = Decimal(literal)
        if decimal.isZero { return writeZero(out) }
        if decimal.digitCount <= 15 && (-300...300).contains(decimal.exponent) {
            return format(decimal, into: out)
        }
        return writeViaDouble(literal, into: out)
    }

    /// The rare path: the nearest double, laid out from its shortest round-trip digits.
    private static func writeViaDouble(_ literal: UnsafeBufferPointer<UInt8>, into out: UnsafeMutablePointer<UInt8>) -> Int {
        guard let value = Double(String(decoding: literal, as: UTF8.self)) else { return writeZero(out) }
        if value == 0 { return writeZero(out) }  // underflow, -0 included
        var n = 0
        if value < 0 {
            out[0] = UInt8(ascii: "-")
            n = 1
        }
        if value.isInfinite {
            for byte in "Infinity".utf8 {
                out[n] = byte
                n += 1
            }
            return n
        }
        var shortest = value.magnitude.description  // e.g. "1.2345678901234567e+19", "5e-324"
        return shortest.withUTF8 { text in
            n + format(Decimal(text), into: out + n)
        }
    }

    private static func writeZero(_ out: UnsafeMutablePointer<UInt8>) -> Int {
        out[0] = UInt8(ascii: "0")
        return 1
    }

    /// Number::toString's layout of the digits `s` (k of them) for the value 0.s × 10^n.
    private static func format(_ decimal: Decimal, into out: UnsafeMutablePointer<UInt8>) -> Int {
        var w = 0
        func put(_ byte: UInt8) {
            out[w] = byte
            w += 1
        }
        let k = decimal.digitCount
        let n = decimal.exponent
        if decimal.isNegative { put(UInt8(ascii: "-")) }
        if k <= n && n <= 21 {
            for i in 0..<k { put(decimal.digit(i)) }
            for _ in 0..<(n - k) { put(UInt8(ascii: "0")) }
        } else if 0 < n && n <= 21 {
            for i in 0..<n { put(decimal.digit(i)) }
            put(UInt8(ascii: "."))
            for i in n..<k { put(decimal.digit(i)) }
        } else if -6 < n && n <= 0 {
            put(UInt8(ascii: "0"))
            put(UInt8(ascii: "."))
            for _ in 0..<(-n) { put(UInt8(ascii: "0")) }
            for i in 0..<k { put(decimal.digit(i)) }
        } else {
            put(decimal.digit(0))
            if k > 1 {
                put(UInt8(ascii: "."))
                for i in 1..<k { put(decimal.digit(i)) }
            }
            put(UInt8(ascii: "e"))
            let e = n - 1
            put(e < 0 ? UInt8(ascii: "-") : UInt8(ascii: "+"))
            var magnitude = e.magnitude
            var digits: (UInt8, UInt8, UInt8, UInt8) = (0, 0, 0, 0)
            var count = 0
            repeat {
                let digit = UInt8(ascii: "0") + UInt8(magnitude % 10)
                switch count {
                case 0: digits.0 = digit
                case 1: digits.1 = digit
                case 2: digits.2 = digit
                default: digits.3 = digit
                }
                magnitude /= 10
                count += 1
            } while magnitude > 0 && count < 4
            if count > 3 { put(digits.3) }
            if count > 2 { put(digits.2) }
            if count > 1 { put(digits.1) }
            put(digits.0)
        }
        return w
    }

    /// A number literal read as sign, significant digits and exponent (value = 0.digits × 10^exponent),
    /// pointing into the literal's bytes: no copy.
    struct Decimal {
        let isNegative: Bool
        /// Digits before the point and after it; `digit(i)` reads across both.
        private let integerDigits: UnsafePointer<UInt8>
        private let integerCount: Int
        private let fractionDigits: UnsafePointer<UInt8>
        /// Index of the first significant digit among all mantissa digits.
        private let first: Int
        /// Significant digits, leading and trailing zeros stripped (0 for a zero value).
        let digitCount: Int
        let exponent: Int
        var isZero: Bool { digitCount == 0 }

        /// `text`: JSON number syntax, or the output of `Double.description` for a finite
        /// positive value (same grammar, with an optional `+` in the exponent).
        init(_ text: UnsafeBufferPointer<UInt8>) {
            var p = 0
            let end = text.count
            isNegative = p < end && text[p] == UInt8(ascii: "-")
            if isNegative { p += 1 }
            let base = text.baseAddress ?? UnsafePointer(bitPattern: 1)!
            integerDigits = base + p
            while p < end && isDigit(text[p]) { p += 1 }
            integerCount = (base + p) - integerDigits
            var fractionCount = 0
            if p < end && text[p] == UInt8(ascii: ".") { p += 1 }
            fractionDigits = base + p
            while p < end && isDigit(text[p]) {
                p += 1
                fractionCount += 1
            }
            var exponentValue = 0
            if p < end && text[p] | 0x20 == UInt8(ascii: "e") {
                p += 1
                var negative = false
                if p < end && (text[p] == UInt8(ascii: "-") || text[p] == UInt8(ascii: "+")) {
                    negative = text[p] == UInt8(ascii: "-")
                    p += 1
                }
                while p < end && isDigit(text[p]) {
                    // Saturates: beyond ±10^9 every value is 0 or infinite for a double anyway.
                    exponentValue = min(exponentValue * 10 + Int(text[p] &- UInt8(ascii: "0")), 1_000_000_000)
                    p += 1
                }
                if negative { exponentValue = -exponentValue }
            }
            let total = integerCount + fractionCount
            let integerStart = integerDigits
            let fractionStart = fractionDigits
            let integers = integerCount
            func at(_ i: Int) -> UInt8 { i < integers ? integerStart[i] : fractionStart[i - integers] }
            var firstNonZero = 0
            while firstNonZero < total && at(firstNonZero) == UInt8(ascii: "0") { firstNonZero += 1 }
            var last = total - 1
            while last >= firstNonZero && at(last) == UInt8(ascii: "0") { last -= 1 }
            first = firstNonZero
            digitCount = firstNonZero < total ? last - firstNonZero + 1 : 0
            exponent = integerCount - firstNonZero + exponentValue
        }

        /// The i-th significant digit (ASCII).
        func digit(_ i: Int) -> UInt8 {
            let index = first + i
            return index < integerCount ? integerDigits[index] : fractionDigits[index - integerCount]
        }
    }
}
