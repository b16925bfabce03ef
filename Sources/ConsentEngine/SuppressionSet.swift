/// An exact set of suppressed subject ids of one identifier type (consent-rules section 4).
///
/// A value is an immutable snapshot as far as other holders are concerned: a reader keeps its
/// copy while an updater mutates its own and publishes it (the worker swaps a reference), so
/// readers never wait. To keep updates cheap next to a 10-million-entry list, the large `base`
/// is never modified after it is built; changes go to a small `overlay` (id -> present/absent)
/// that is copied per update and folded into a new base once it grows past a fraction of it.
/// Bulk loading (a file, a compacted topic replay) goes through `Builder`, which writes the base
/// directly.
public struct SuppressionSet: Sendable {
    private static let present: UInt8 = 1
    private static let absent: UInt8 = 0

    private var base: ByteStringTable
    private var overlay: ByteStringTable
    /// Number of suppressed ids.
    public private(set) var count: Int

    public init() {
        self.init(base: ByteStringTable(), count: 0)
    }

    private init(base: ByteStringTable, count: Int) {
        self.base = base
        self.overlay = ByteStringTable()
        self.count = count
    }

    public func contains(_ id: UnsafeRawBufferPointer) -> Bool {
        if overlay.count != 0, let state = overlay.value(for: id) { return state == Self.present }
        return base.value(for: id) == Self.present
    }

    public func contains(_ id: String) -> Bool { id.withUTF8Bytes { contains($0) } }

    /// Adds `id`; returns whether it was absent.
    @discardableResult
    public mutating func insert(_ id: UnsafeRawBufferPointer) -> Bool {
        guard !contains(id) else { return false }
        overlay.set(Self.present, for: id)
        count += 1
        mergeIfOverlayIsLarge()
        return true
    }

    /// Removes `id`; returns whether it was present.
    @discardableResult
    public mutating func remove(_ id: UnsafeRawBufferPointer) -> Bool {
        guard contains(id) else { return false }
        overlay.set(Self.absent, for: id)
        count -= 1
        mergeIfOverlayIsLarge()
        return true
    }

    @discardableResult
    public mutating func insert(_ id: String) -> Bool { id.withUTF8Bytes { insert($0) } }

    @discardableResult
    public mutating func remove(_ id: String) -> Bool { id.withUTF8Bytes { remove($0) } }

    /// Bytes of the tables behind this snapshot, for capacity planning and the memory test.
    public var storageBytes: Int { base.storageBytes + overlay.storageBytes }

    /// Each update copies the overlay, and a merge copies the base: an overlay of 1/32 of the
    /// base (between 4 Ki and 256 Ki entries) bounds both costs.
    private var overlayLimit: Int { min(max(base.count / 32, 4096), 256 * 1024) }

    private mutating func mergeIfOverlayIsLarge() {
        guard overlay.count > overlayLimit else { return }
        var builder = Builder(minimumCapacity: count)
        base.forEach { id, state in
            if state == Self.present && overlay.value(for: id) == nil { builder.insert(id) }
        }
        overlay.forEach { id, state in
            if state == Self.present { builder.insert(id) }
        }
        self = builder.build()
    }

    /// Builds a set in place, without the overlay, for loading a whole list.
    public struct Builder: Sendable {
        private var table: ByteStringTable
        private var count = 0

        /// `minimumCapacity`, when known, avoids regrowing the slot table while loading.
        public init(minimumCapacity: Int = 0) {
            table = ByteStringTable(minimumCapacity: minimumCapacity)
        }

        public mutating func insert(_ id: UnsafeRawBufferPointer) {
            if table.set(SuppressionSet.present, for: id) != SuppressionSet.present { count += 1 }
        }

        public mutating func remove(_ id: UnsafeRawBufferPointer) {
            if table.value(for: id) == SuppressionSet.present {
                table.set(SuppressionSet.absent, for: id)
                count -= 1
            }
        }

        public mutating func insert(_ id: String) { id.withUTF8Bytes { insert($0) } }
        public mutating func remove(_ id: String) { id.withUTF8Bytes { remove($0) } }

        public func build() -> SuppressionSet { SuppressionSet(base: table, count: count) }
    }
}

/// The suppression list, one set per identifier type. Emails are stored and compared in ASCII
/// lower case (addresses differ in case between sources; matching more is the safe side).
public struct Suppressions: Sendable {
    public var userIds: SuppressionSet
    public var anonymousIds: SuppressionSet
    public var emails: SuppressionSet

    public init(userIds: SuppressionSet = .init(), anonymousIds: SuppressionSet = .init(), emails: SuppressionSet = .init()) {
        self.userIds = userIds
        self.anonymousIds = anonymousIds
        self.emails = emails
    }

    public static let empty = Suppressions()

    /// Loads a whole list of untyped subject ids (as in `check --suppressions`): each id is
    /// suppressed under every identifier type the policy checks.
    public struct Builder: Sendable {
        private let identifiers: Set<SuppressionIdentifier>
        private var userIds = SuppressionSet.Builder()
        private var anonymousIds = SuppressionSet.Builder()
        private var emails = SuppressionSet.Builder()

        public init(identifiers: [SuppressionIdentifier]) {
            self.identifiers = Set(identifiers)
        }

        public mutating func insert(subject: UnsafeRawBufferPointer) {
            if identifiers.contains(.userId) { userIds.insert(subject) }
            if identifiers.contains(.anonymousId) { anonymousIds.insert(subject) }
            if identifiers.contains(.email) {
                withUnsafeTemporaryAllocation(byteCount: subject.count, alignment: 1) { lower in
                    for (i, byte) in subject.enumerated() { lower[i] = asciiLowercase(byte) }
                    emails.insert(UnsafeRawBufferPointer(lower))
                }
            }
        }

        public mutating func insert(subject: String) { subject.withUTF8Bytes { insert(subject: $0) } }

        /// Adds a subject under one identifier type (a suppression topic record).
        public mutating func insert(_ id: UnsafeRawBufferPointer, as identifier: SuppressionIdentifier) {
            switch identifier {
            case .userId: userIds.insert(id)
            case .anonymousId: anonymousIds.insert(id)
            case .email: Self.withLowercased(id) { emails.insert($0) }
            }
        }

        /// Removes a subject under one identifier type (a tombstone on the topic).
        public mutating func remove(_ id: UnsafeRawBufferPointer, as identifier: SuppressionIdentifier) {
            switch identifier {
            case .userId: userIds.remove(id)
            case .anonymousId: anonymousIds.remove(id)
            case .email: Self.withLowercased(id) { emails.remove($0) }
            }
        }

        private static func withLowercased(_ id: UnsafeRawBufferPointer, _ body: (UnsafeRawBufferPointer) -> Void) {
            withUnsafeTemporaryAllocation(byteCount: id.count, alignment: 1) { lower in
                for (i, byte) in id.enumerated() { lower[i] = asciiLowercase(byte) }
                body(UnsafeRawBufferPointer(lower))
            }
        }

        public func build() -> Suppressions {
            Suppressions(userIds: userIds.build(), anonymousIds: anonymousIds.build(), emails: emails.build())
        }
    }

    /// Adds a subject under one identifier type.
    public mutating func insert(_ id: String, as identifier: SuppressionIdentifier) {
        switch identifier {
        case .userId: userIds.insert(id)
        case .anonymousId: anonymousIds.insert(id)
        case .email: emails.insert(asciiLowercased(id))
        }
    }

    /// Whether a subject is suppressed under one identifier type (emails ignoring ASCII case).
    public func contains(_ id: String, as identifier: SuppressionIdentifier) -> Bool {
        switch identifier {
        case .userId: userIds.contains(id)
        case .anonymousId: anonymousIds.contains(id)
        case .email: emails.contains(asciiLowercased(id))
        }
    }

    /// Subjects held, over all identifier types.
    public var count: Int { userIds.count + anonymousIds.count + emails.count }

    /// Removes a subject under one identifier type (UNSUPPRESS).
    public mutating func remove(_ id: String, as identifier: SuppressionIdentifier) {
        switch identifier {
        case .userId: userIds.remove(id)
        case .anonymousId: anonymousIds.remove(id)
        case .email: emails.remove(asciiLowercased(id))
        }
    }
}

/// ASCII-only lower casing, the normalization used for email addresses.
func asciiLowercased(_ text: String) -> String {
    String(decoding: text.utf8.map(asciiLowercase), as: UTF8.self)
}

@inline(__always)
func asciiLowercase(_ byte: UInt8) -> UInt8 {
    byte &- 0x41 < 26 ? byte | 0x20 : byte
}
