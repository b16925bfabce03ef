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
    /// Destinations with US opt-out classes (`usOptOuts`, `sale`): GPC, `usPrivacy` and GPP apply.
    let usPrivacy: DestinationSet
    /// `USOptOutSet` bits per destination.
    let usOptOutClasses: [UInt8]
    /// Destinations whose TCF requirements are checked: `enforceConsent` and `tcf`.
    let tcfEnforced: DestinationSet
    /// Per destination, its TCF requirements as masks (nil without `tcf`).
    let tcfRules: [TCFRule?]
    /// The vendors of `tcfEnforced`, looked up in one pass over a TC string's vendor sections.
    let tcfVendors: [TCFVendor]
    /// Destinations whose Google Consent Mode types are checked: `enforceConsent` and `googleConsent`.
    let googleEnforced: DestinationSet
    /// `GoogleConsentType.bit`s per destination.
    let googleRequired: [UInt8]
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
        var usPrivacy = DestinationSet(), messaging = DestinationSet()
        var usOptOutClasses: [UInt8] = [], tcfRules: [TCFRule?] = [], tcfVendors: [TCFVendor] = [], googleRequired: [UInt8] = []
        var tcfEnforced = DestinationSet(), googleEnforced = DestinationSet()
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
            let classes = destination.effectiveUSOptOuts.reduce(0) { $0 | $1.bit }
            usOptOutClasses.append(classes)
            if classes != 0 { usPrivacy.insert(index) }
            tcfRules.append(destination.tcf.map(TCFRule.init))
            if let tcf = destination.tcf, destination.enforceConsent {
                tcfEnforced.insert(index)
                tcfVendors.append(TCFVendor(destination: index, id: tcf.vendorId))
            }
            let google = destination.googleConsent.reduce(0) { $0 | $1.bit }
            googleRequired.append(google)
            if google != 0 && destination.enforceConsent { googleEnforced.insert(index) }
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
        self.usPrivacy = usPrivacy
        self.usOptOutClasses = usOptOutClasses
        self.tcfEnforced = tcfEnforced
        self.tcfRules = tcfRules
        self.tcfVendors = tcfVendors
        self.googleEnforced = googleEnforced
        self.googleRequired = googleRequired
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

/// A destination's `TCFRequirement` as TC-string masks (`TCFMask`).
struct TCFRule: Sendable {
    let requirement: TCFRequirement
    let purposes: UInt32
    let flexiblePurposes: UInt32
    let specialFeatures: UInt32

    init(_ requirement: TCFRequirement) {
        self.requirement = requirement
        purposes = TCFMask.of(requirement.purposes, width: 24)
        flexiblePurposes = TCFMask.of(requirement.flexiblePurposes, width: 24)
        specialFeatures = TCFMask.of(requirement.specialFeatures, width: 12)
    }
}
