/// A validated policy turned into lookup tables and bit masks, shared read-only by every
/// decider thread: category id -> bit, integration name -> destination set, destination ->
/// required category mask, and one destination set per rule.
public final class CompiledPolicy: Sendable {
    public let policy: Policy
    /// Category names by bit index.
    public let categories: [String]
    public var destinations: [Destination] { policy.destinations }
    public var limits: Limits { policy.limits }

    /// Every configured destination.
    public let all: DestinationSet
    /// Required category mask per destination (0 when unmapped).
    let requiredCategories: [UInt64]
    /// Destinations whose consent is checked: `enforceConsent` and at least one category.
    let enforced: DestinationSet
    let matchAny: DestinationSet
    let denyMissing: DestinationSet
    let sale: DestinationSet
    /// Every destination with a channel.
    let messaging: DestinationSet
    let subscriptionGroups: [[UInt8]?]
    let channels: [Channel?]
    let checksUserId: Bool
    let checksAnonymousId: Bool
    let checksEmail: Bool

    private let categoryTable: ByteStringTable
    private let integrationTable: ByteStringTable
    /// Destinations per distinct integration name (the table's value indexes this).
    let integrationDestinations: [DestinationSet]

    public init(_ policy: Policy) throws(PolicyViolations) {
        let violations = policy.violations()
        guard violations.isEmpty else { throw PolicyViolations(violations: violations) }
        self.policy = policy

        var categories: [String] = policy.categories ?? []
        var categoryTable = ByteStringTable()
        for (bit, name) in categories.enumerated() {
            name.withUTF8Bytes { _ = categoryTable.set(UInt8(bit), for: $0) }
        }
        for destination in policy.destinations {
            for name in destination.categories where name.withUTF8Bytes({ categoryTable.value(for: $0) }) == nil {
                name.withUTF8Bytes { _ = categoryTable.set(UInt8(categories.count), for: $0) }
                categories.append(name)
            }
        }
        self.categories = categories
        self.categoryTable = categoryTable

        var integrationTable = ByteStringTable()
        var integrationDestinations: [DestinationSet] = []
        var required: [UInt64] = []
        var enforced = DestinationSet(), matchAny = DestinationSet(), denyMissing = DestinationSet()
        var sale = DestinationSet(), messaging = DestinationSet()
        var groups: [[UInt8]?] = []
        for (index, destination) in policy.destinations.enumerated() {
            var mask: UInt64 = 0
            for name in destination.categories {
                let bit = name.withUTF8Bytes { categoryTable.value(for: $0) }!
                mask |= UInt64(1) << UInt64(bit)
            }
            required.append(mask)
            if destination.enforceConsent && mask != 0 { enforced.insert(index) }
            if destination.match == .any { matchAny.insert(index) }
            if destination.missingConsent == .deny { denyMissing.insert(index) }
            if destination.sale { sale.insert(index) }
            if destination.channel != nil { messaging.insert(index) }
            groups.append(destination.subscriptionGroup.map { Array($0.utf8) })

            destination.effectiveIntegrationName.withUTF8Bytes { name in
                if let slot = integrationTable.value(for: name) {
                    integrationDestinations[Int(slot)].insert(index)
                } else {
                    integrationTable.set(UInt8(integrationDestinations.count), for: name)
                    var set = DestinationSet()
                    set.insert(index)
                    integrationDestinations.append(set)
                }
            }
        }
        self.all = DestinationSet(firstCount: policy.destinations.count)
        self.requiredCategories = required
        self.enforced = enforced
        self.matchAny = matchAny
        self.denyMissing = denyMissing
        self.sale = sale
        self.messaging = messaging
        self.subscriptionGroups = groups
        self.channels = policy.destinations.map(\.channel)
        self.integrationTable = integrationTable
        self.integrationDestinations = integrationDestinations
        let identifiers = Set(policy.suppressionIdentifiers)
        self.checksUserId = identifiers.contains(.userId)
        self.checksAnonymousId = identifiers.contains(.anonymousId)
        self.checksEmail = identifiers.contains(.email)
    }

    /// The bit of a category id, compared byte for byte (case-sensitive), nil when unknown.
    @inline(__always)
    func categoryBit(_ name: UnsafeRawBufferPointer) -> Int? {
        categoryTable.value(for: name).map(Int.init)
    }

    /// The index in `integrationDestinations` of the destinations whose integration name is
    /// `name`, nil when no destination uses it.
    @inline(__always)
    func integrationSlot(name: UnsafeRawBufferPointer) -> Int? {
        integrationTable.value(for: name).map(Int.init)
    }

    /// The index of the destination with this id.
    public func destinationIndex(id: String) -> Int? {
        destinations.firstIndex { $0.id == id }
    }

    /// The category names of a category set.
    public func categoryNames(_ set: CategorySet) -> [String] {
        set.indices.map { categories[$0] }
    }
}
