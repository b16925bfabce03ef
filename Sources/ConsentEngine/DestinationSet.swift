/// A set of destination indices (positions in `Policy.destinations`), stored inline as four
/// 64-bit words so that deciding and combining sets never allocates.
public struct DestinationSet: Sendable, Hashable {
    /// The most destinations a policy may configure.
    public static let capacity = 256

    @usableFromInline var w0: UInt64 = 0
    @usableFromInline var w1: UInt64 = 0
    @usableFromInline var w2: UInt64 = 0
    @usableFromInline var w3: UInt64 = 0

    public init() {}

    /// The indices `0..<count`.
    public init(firstCount count: Int) {
        precondition(count >= 0 && count <= Self.capacity, "destination count \(count) out of range")
        for i in 0..<4 {
            let bits = Swift.min(Swift.max(count - i * 64, 0), 64)
            setWord(i, bits == 64 ? ~0 : (UInt64(1) << UInt64(bits)) &- 1)
        }
    }

    @inlinable func word(_ i: Int) -> UInt64 {
        switch i {
        case 0: w0
        case 1: w1
        case 2: w2
        default: w3
        }
    }

    @inlinable mutating func setWord(_ i: Int, _ value: UInt64) {
        switch i {
        case 0: w0 = value
        case 1: w1 = value
        case 2: w2 = value
        default: w3 = value
        }
    }

    @inlinable public func contains(_ index: Int) -> Bool {
        word(index >> 6) & (UInt64(1) << UInt64(index & 63)) != 0
    }

    @inlinable public mutating func insert(_ index: Int) {
        precondition(index >= 0 && index < Self.capacity, "destination index \(index) out of range")
        setWord(index >> 6, word(index >> 6) | (UInt64(1) << UInt64(index & 63)))
    }

    @inlinable public mutating func remove(_ index: Int) {
        setWord(index >> 6, word(index >> 6) & ~(UInt64(1) << UInt64(index & 63)))
    }

    @inlinable public var isEmpty: Bool { (w0 | w1 | w2 | w3) == 0 }

    public var count: Int { w0.nonzeroBitCount + w1.nonzeroBitCount + w2.nonzeroBitCount + w3.nonzeroBitCount }

    @inlinable public func union(_ other: DestinationSet) -> DestinationSet {
        var r = self
        r.formUnion(other)
        return r
    }

    @inlinable public func intersection(_ other: DestinationSet) -> DestinationSet {
        var r = self
        r.formIntersection(other)
        return r
    }

    @inlinable public func subtracting(_ other: DestinationSet) -> DestinationSet {
        var r = self
        r.subtract(other)
        return r
    }

    @inlinable public mutating func formUnion(_ other: DestinationSet) {
        w0 |= other.w0; w1 |= other.w1; w2 |= other.w2; w3 |= other.w3
    }

    @inlinable public mutating func formIntersection(_ other: DestinationSet) {
        w0 &= other.w0; w1 &= other.w1; w2 &= other.w2; w3 &= other.w3
    }

    @inlinable public mutating func subtract(_ other: DestinationSet) {
        w0 &= ~other.w0; w1 &= ~other.w1; w2 &= ~other.w2; w3 &= ~other.w3
    }
}

extension DestinationSet: Sequence {
    /// Iterates the member indices in ascending order without allocating.
    public struct Iterator: IteratorProtocol {
        var set: DestinationSet
        var wordIndex = 0
        var current: UInt64

        init(_ set: DestinationSet) {
            self.set = set
            self.current = set.w0
        }

        public mutating func next() -> Int? {
            while current == 0 {
                wordIndex += 1
                if wordIndex >= 4 { return nil }
                current = set.word(wordIndex)
            }
            let bit = current.trailingZeroBitCount
            current &= current &- 1
            return wordIndex * 64 + bit
        }
    }

    public func makeIterator() -> Iterator { Iterator(self) }

    public var underestimatedCount: Int { count }
}

/// A set of category bit indices (positions in `CompiledPolicy.categories`), at most 64.
public struct CategorySet: Sendable, Hashable {
    public static let capacity = 64
    public var bits: UInt64

    public init(bits: UInt64 = 0) { self.bits = bits }

    public func contains(_ index: Int) -> Bool { bits & (UInt64(1) << UInt64(index)) != 0 }
    public mutating func insert(_ index: Int) { bits |= UInt64(1) << UInt64(index) }
    public var isEmpty: Bool { bits == 0 }

    /// Member indices in ascending order.
    public var indices: [Int] {
        var result: [Int] = []
        var rest = bits
        while rest != 0 {
            result.append(rest.trailingZeroBitCount)
            rest &= rest &- 1
        }
        return result
    }
}
