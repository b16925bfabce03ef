/// An insert-or-update hash map from byte strings to one byte, built for millions of short keys:
/// keys live back to back in an arena of 1 MiB chunks (`[length varint][key][value]`), and an
/// open-addressing table of 64-bit slots holds each entry's arena location plus a 24-bit hash
/// tag, so most probes that miss never touch the arena. Chunks are never reallocated, so
/// loading never holds two copies of the keys (a single growing array would double and copy).
/// Lookups take raw bytes and never allocate. There is no deletion: callers store a tombstone
/// value instead. A value type: copies share storage until one of them is mutated.
struct ByteStringTable: Sendable {
    private var chunks: [[UInt8]] = []
    /// 0 = empty; otherwise `tag << 40 | (location + 1)`, location = chunk << 20 | offset.
    private var slots: [UInt64]
    private let seed: UInt64
    private(set) var count = 0

    private static let locationBits: UInt64 = 40
    private static let locationMask: UInt64 = (1 << 40) - 1
    private static let chunkShift = 20
    private static let chunkSize = 1 << chunkShift

    /// Grow when more than 7/10 of the slots are used; linear probing stays short there.
    private static func slotCount(for entries: Int) -> Int {
        var n = 16
        while n * 7 < entries * 10 { n <<= 1 }
        return n
    }

    init(minimumCapacity: Int = 0) {
        slots = Array(repeating: 0, count: Self.slotCount(for: max(minimumCapacity, 8)))
        seed = UInt64.random(in: .min ... .max)
    }

    /// Bytes held by the arena chunks and the slot table, for capacity planning.
    var storageBytes: Int { chunks.reduce(0) { $0 + $1.capacity } + slots.capacity * 8 }

    func value(for key: UnsafeRawBufferPointer) -> UInt8? {
        let hash = hashBytes(key, seed: seed)
        return slots.withUnsafeBufferPointer { slots in
            let mask = slots.count - 1
            let tag = hash >> Self.locationBits
            var index = Int(truncatingIfNeeded: hash) & mask
            while true {
                let slot = slots[index]
                if slot == 0 { return nil }
                if slot >> Self.locationBits == tag {
                    let (chunk, offset) = Self.split(slot)
                    let found: UInt8? = chunks[chunk].withUnsafeBufferPointer { arena in
                        Self.match(arena, at: offset, key).map { arena[$0] }
                    }
                    if let found { return found }
                }
                index = (index + 1) & mask
            }
        }
    }

    /// Sets `key` to `value`, inserting it when absent. Returns the previous value.
    @discardableResult
    mutating func set(_ value: UInt8, for key: UnsafeRawBufferPointer) -> UInt8? {
        let hash = hashBytes(key, seed: seed)
        if (count + 1) * 10 > slots.count * 7 { grow() }
        let tag = hash >> Self.locationBits
        let mask = slots.count - 1
        var index = Int(truncatingIfNeeded: hash) & mask
        while true {
            let slot = slots[index]
            if slot == 0 { break }
            if slot >> Self.locationBits == tag {
                let (chunk, offset) = Self.split(slot)
                if let valueOffset = chunks[chunk].withUnsafeBufferPointer({ Self.match($0, at: offset, key) }) {
                    let previous = chunks[chunk][valueOffset]
                    chunks[chunk][valueOffset] = value
                    return previous
                }
            }
            index = (index + 1) & mask
        }
        var headerSize = 1
        while key.count >> (7 * headerSize) != 0 { headerSize += 1 }
        let size = headerSize + key.count + 1
        if chunks.isEmpty || chunks[chunks.count - 1].count + size > chunks[chunks.count - 1].capacity {
            precondition(UInt64(chunks.count) << UInt64(Self.chunkShift) < Self.locationMask, "byte-string arena exceeds 1 TiB")
            var chunk: [UInt8] = []
            // Keys larger than a chunk get a chunk of their own (their entry starts at offset 0).
            chunk.reserveCapacity(Swift.max(Self.chunkSize, size))
            chunks.append(chunk)
        }
        let chunk = chunks.count - 1
        let offset = chunks[chunk].count
        var length = key.count
        repeat {
            let low = UInt8(length & 0x7F)
            length >>= 7
            chunks[chunk].append(length == 0 ? low : low | 0x80)
        } while length != 0
        chunks[chunk].append(contentsOf: key)
        chunks[chunk].append(value)
        let location = UInt64(chunk) << UInt64(Self.chunkShift) | UInt64(offset)
        slots[index] = tag << Self.locationBits | (location + 1)
        count += 1
        return nil
    }

    /// Calls `body` with every key and value, in insertion order.
    func forEach(_ body: (UnsafeRawBufferPointer, UInt8) -> Void) {
        for chunk in chunks {
            chunk.withUnsafeBytes { arena in
                var offset = 0
                while offset < arena.count {
                    let (length, start) = Self.readLength(arena, at: offset)
                    body(UnsafeRawBufferPointer(rebasing: arena[start..<start + length]), arena[start + length])
                    offset = start + length + 1
                }
            }
        }
    }

    private mutating func grow() {
        let newCount = slots.count * 2
        var newSlots = [UInt64](repeating: 0, count: newCount)
        let mask = newCount - 1
        for slot in slots where slot != 0 {
            let (chunk, offset) = Self.split(slot)
            let hash = chunks[chunk].withUnsafeBytes { arena in
                let (length, start) = Self.readLength(arena, at: offset)
                return hashBytes(UnsafeRawBufferPointer(rebasing: arena[start..<start + length]), seed: seed)
            }
            var index = Int(truncatingIfNeeded: hash) & mask
            while newSlots[index] != 0 { index = (index + 1) & mask }
            newSlots[index] = slot
        }
        slots = newSlots
    }

    @inline(__always)
    private static func split(_ slot: UInt64) -> (chunk: Int, offset: Int) {
        let location = Int(slot & locationMask) - 1
        return (location >> chunkShift, location & (chunkSize - 1))
    }

    @inline(__always)
    private static func readLength<C: RandomAccessCollection>(_ arena: C, at offset: Int) -> (length: Int, start: Int)
    where C.Element == UInt8, C.Index == Int {
        var length = 0
        var shift = 0
        var position = offset
        while true {
            let byte = arena[position]
            position += 1
            length |= Int(byte & 0x7F) << shift
            if byte & 0x80 == 0 { return (length, position) }
            shift += 7
        }
    }

    /// The offset of the entry's value byte when the entry at `offset` holds `key`.
    @inline(__always)
    private static func match(_ arena: UnsafeBufferPointer<UInt8>, at offset: Int, _ key: UnsafeRawBufferPointer) -> Int? {
        let (length, start) = readLength(arena, at: offset)
        guard length == key.count else { return nil }
        for i in 0..<length where arena[start + i] != key[i] { return nil }
        return start + length
    }
}

/// A fast 64-bit hash of a byte string: 8 bytes per multiply-xorshift round and a murmur3
/// finalizer, so short identifiers cost a handful of instructions.
@inline(__always)
func hashBytes(_ bytes: UnsafeRawBufferPointer, seed: UInt64) -> UInt64 {
    var h = seed ^ (UInt64(bytes.count) &* 0x9E37_79B9_7F4A_7C15)
    var i = 0
    let n = bytes.count
    while i + 8 <= n {
        let word = bytes.loadUnaligned(fromByteOffset: i, as: UInt64.self)
        h = (h ^ word) &* 0xBF58_476D_1CE4_E5B9
        h ^= h >> 31
        i += 8
    }
    var tail: UInt64 = 0
    var shift: UInt64 = 0
    while i < n {
        tail |= UInt64(bytes[i]) << shift
        shift += 8
        i += 1
    }
    h = (h ^ tail) &* 0x94D0_49BB_1331_11EB
    h ^= h >> 33
    h = h &* 0xFF51_AFD7_ED55_8CCD
    h ^= h >> 33
    h = h &* 0xC4CE_B9FE_1A85_EC53
    h ^= h >> 33
    return h
}

extension String {
    /// Calls `body` with the string's UTF-8 bytes, copying only when the string is not native.
    func withUTF8Bytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        var copy = self
        return try copy.withUTF8 { try body(UnsafeRawBufferPointer($0)) }
    }
}
