/// The routing policy as configured: what consent-rules.md calls destinations, categories,
/// suppression identifiers and limits. Plain values; `CompiledPolicy` turns it into tables.
public struct Policy: Sendable, Equatable {
    public var limits: Limits
    /// The declared category vocabulary; when set, every destination category must be in it.
    public var categories: [String]?
    /// Which identifiers of an event are looked up in the suppression list.
    public var suppressionIdentifiers: [SuppressionIdentifier]
    public var destinations: [Destination]

    public init(
        limits: Limits = Limits(),
        categories: [String]? = nil,
        suppressionIdentifiers: [SuppressionIdentifier] = [.userId],
        destinations: [Destination]
    ) {
        self.limits = limits
        self.categories = categories
        self.suppressionIdentifiers = suppressionIdentifiers
        self.destinations = destinations
    }
}

public struct Limits: Sendable, Equatable {
    /// Larger values are invalid (`too_large`).
    public var maxEventBytes: Int
    /// Deeper nesting is invalid (`too_deep`); the top-level object is depth 1.
    public var maxDepth: Int

    /// Upper bound for `maxEventBytes`: events are Kafka message values, which rarely exceed
    /// a few MiB, and the scanner preallocates a scratch buffer of this size per thread.
    public static let maxEventBytesCeiling = 64 << 20
    /// Upper bound for `maxDepth`: the scanner recurses once per level on the thread's stack.
    public static let maxDepthCeiling = 1024

    public init(maxEventBytes: Int = 32768, maxDepth: Int = 64) {
        self.maxEventBytes = maxEventBytes
        self.maxDepth = maxDepth
    }
}

public enum SuppressionIdentifier: String, Sendable, CaseIterable {
    case userId
    case anonymousId
    case email
}

public enum CategoryMatch: String, Sendable, CaseIterable {
    /// Every mapped category must be granted.
    case all
    /// At least one mapped category must be granted.
    case any
}

public enum MissingConsent: String, Sendable, CaseIterable {
    /// No `categoryPreferences` in the event: deliver (Segment's behaviour).
    case allow
    /// No `categoryPreferences` in the event: drop with `consent_missing`.
    case deny
}

/// A messaging channel; email uses an event's email address, sms and whatsapp its phone.
public enum Channel: String, Sendable, CaseIterable {
    case email
    case sms
    case whatsapp
}

public struct Destination: Sendable, Equatable {
    public var id: String
    public var categories: [String]
    public var match: CategoryMatch
    public var missingConsent: MissingConsent
    public var enforceConsent: Bool
    /// Key looked up in the event's `integrations` object; nil means the id.
    public var integrationName: String?
    public var sale: Bool
    public var channel: Channel?
    public var subscriptionGroup: String?
    /// Output topic; nil means the configured template with `{id}`.
    public var topic: String?
    /// IAB TCF v2.2 requirements (consent-signals.md section 2); nil: TCF is not checked.
    public var tcf: TCFRequirement?
    /// US opt-out classes that block this destination; `sale: true` adds `.sale`.
    public var usOptOuts: [USOptOut]
    /// Google Consent Mode v2 types that must be `granted`.
    public var googleConsent: [GoogleConsentType]

    public init(
        id: String,
        categories: [String] = [],
        match: CategoryMatch = .all,
        missingConsent: MissingConsent = .allow,
        enforceConsent: Bool = true,
        integrationName: String? = nil,
        sale: Bool = false,
        channel: Channel? = nil,
        subscriptionGroup: String? = nil,
        topic: String? = nil,
        tcf: TCFRequirement? = nil,
        usOptOuts: [USOptOut] = [],
        googleConsent: [GoogleConsentType] = []
    ) {
        self.id = id
        self.categories = categories
        self.match = match
        self.missingConsent = missingConsent
        self.enforceConsent = enforceConsent
        self.integrationName = integrationName
        self.sale = sale
        self.channel = channel
        self.subscriptionGroup = subscriptionGroup
        self.topic = topic
        self.tcf = tcf
        self.usOptOuts = usOptOuts
        self.googleConsent = googleConsent
    }

    /// The key looked up in an event's `integrations` object.
    public var effectiveIntegrationName: String { integrationName ?? id }

    /// `usOptOuts` with `sale: true` as its shorthand for `.sale`.
    public var effectiveUSOptOuts: Set<USOptOut> { Set(usOptOuts).union(sale ? [.sale] : []) }
}

/// A destination's IAB TCF v2.2 requirements (consent-signals.md section 2, rule 3.1).
public struct TCFRequirement: Sendable, Equatable {
    /// Global Vendor List id, 1...65535.
    public var vendorId: Int
    /// Purposes that need the user's consent (and the vendor's consent).
    public var purposes: [Int]
    /// Purposes that need consent, or legitimate interest (transparency and the vendor's LI bit).
    public var flexiblePurposes: [Int]
    /// Special features that need the user's opt-in.
    public var specialFeatures: [Int]
    /// Whether an event without a TCF signal is dropped.
    public var required: Bool

    public static let purposeRange = 1...24
    public static let specialFeatureRange = 1...12
    public static let vendorIdRange = 1...65535

    public init(vendorId: Int, purposes: [Int] = [], flexiblePurposes: [Int] = [], specialFeatures: [Int] = [], required: Bool = false) {
        self.vendorId = vendorId
        self.purposes = purposes
        self.flexiblePurposes = flexiblePurposes
        self.specialFeatures = specialFeatures
        self.required = required
    }
}

/// A US privacy opt-out class (consent-signals.md rule 4).
public enum USOptOut: String, Sendable, CaseIterable {
    case sale
    case sharing
    case targetedAdvertising

    /// Bit in a `USOptOutSet` mask.
    var bit: UInt8 {
        switch self {
        case .sale: USOptOutSet.sale
        case .sharing: USOptOutSet.sharing
        case .targetedAdvertising: USOptOutSet.targetedAdvertising
        }
    }
}

/// A Google Consent Mode v2 consent type.
public enum GoogleConsentType: String, Sendable, CaseIterable {
    case adStorage = "ad_storage"
    case analyticsStorage = "analytics_storage"
    case adUserData = "ad_user_data"
    case adPersonalization = "ad_personalization"

    /// Bit in `ConsentSignals.googleGranted`.
    var bit: UInt8 {
        switch self {
        case .adStorage: 1
        case .analyticsStorage: 2
        case .adUserData: 4
        case .adPersonalization: 8
        }
    }
}

/// Where in the policy (and so in the configuration file) a problem is.
public enum PolicyLocation: Sendable, Equatable {
    case maxEventBytes
    case maxDepth
    case categories
    case category(index: Int)
    case suppressionIdentifiers
    case destinations
    case destination(index: Int, field: DestinationField)

    public enum DestinationField: Sendable, Equatable {
        case id
        case category(index: Int)
        case categories
        case subscriptionGroup
        case integrationName
        case tcfVendorId
        case tcfPurpose(index: Int)
        case tcfFlexiblePurpose(index: Int)
        case tcfSpecialFeature(index: Int)
    }

    /// The configuration-file key path, e.g. `destinations[2].categories[0]`.
    public var keyPath: String {
        switch self {
        case .maxEventBytes: "limits.maxEventBytes"
        case .maxDepth: "limits.maxDepth"
        case .categories: "categories"
        case .category(let index): "categories[\(index)]"
        case .suppressionIdentifiers: "suppression.identifiers"
        case .destinations: "destinations"
        case .destination(let index, let field):
            switch field {
            case .id: "destinations[\(index)].id"
            case .category(let c): "destinations[\(index)].categories[\(c)]"
            case .categories: "destinations[\(index)].categories"
            case .subscriptionGroup: "destinations[\(index)].subscriptionGroup"
            case .integrationName: "destinations[\(index)].integrationName"
            case .tcfVendorId: "destinations[\(index)].tcf.vendorId"
            case .tcfPurpose(let p): "destinations[\(index)].tcf.purposes[\(p)]"
            case .tcfFlexiblePurpose(let p): "destinations[\(index)].tcf.flexiblePurposes[\(p)]"
            case .tcfSpecialFeature(let f): "destinations[\(index)].tcf.specialFeatures[\(f)]"
            }
        }
    }
}

/// A rule of consent-rules.md or config.md that a policy breaks.
public enum PolicyProblem: Sendable, Equatable {
    case notPositive(Int)
    case aboveCeiling(value: Int, ceiling: Int)
    case tooManyDestinations(count: Int, capacity: Int)
    case tooManyCategories(count: Int, capacity: Int)
    case invalidDestinationId(String)
    case duplicateDestinationId(String, firstIndex: Int)
    case duplicateCategory(String)
    case unknownCategory(String)
    case emptyName
    case subscriptionGroupWithoutChannel
    case noSuppressionIdentifiers
    case outOfRange(value: Int, range: ClosedRange<Int>)
    case purposeOneFlexible
    case purposeInBothLists(Int)
    case duplicateValue(Int)

    public var message: String {
        switch self {
        case .notPositive(let v): "must be a positive integer, got \(v)"
        case .aboveCeiling(let v, let c): "must be at most \(c), got \(v)"
        case .tooManyDestinations(let n, let c): "\(n) destinations configured, at most \(c) are supported"
        case .tooManyCategories(let n, let c): "\(n) distinct categories used, at most \(c) are supported"
        case .invalidDestinationId(let id): "invalid destination id '\(id)': must match [A-Za-z0-9._-]+"
        case .duplicateDestinationId(let id, let first): "duplicate destination id '\(id)' (first at destinations[\(first)])"
        case .duplicateCategory(let c): "category '\(c)' is listed twice"
        case .unknownCategory(let c): "unknown category '\(c)': not in the top-level categories list"
        case .emptyName: "must not be empty"
        case .subscriptionGroupWithoutChannel: "subscriptionGroup requires channel (email, sms or whatsapp)"
        case .noSuppressionIdentifiers: "must name at least one of userId, anonymousId, email"
        case .outOfRange(let v, let range): "must be in \(range.lowerBound)...\(range.upperBound), got \(v)"
        case .purposeOneFlexible: "purpose 1 cannot be flexible (TCF allows it only with consent): list it under purposes"
        case .purposeInBothLists(let p): "purpose \(p) is in both purposes and flexiblePurposes"
        case .duplicateValue(let v): "\(v) is listed twice"
        }
    }
}

public struct PolicyViolation: Sendable, Equatable, CustomStringConvertible {
    public var location: PolicyLocation
    public var problem: PolicyProblem

    public init(_ location: PolicyLocation, _ problem: PolicyProblem) {
        self.location = location
        self.problem = problem
    }

    public var description: String { "\(location.keyPath): \(problem.message)" }
}

/// Every violation found in a policy, in configuration-file order.
public struct PolicyViolations: Error, Sendable, Equatable, CustomStringConvertible {
    public var violations: [PolicyViolation]

    public var description: String { violations.map(\.description).joined(separator: "\n") }
}

extension Policy {
    /// Checks the rules a policy must satisfy to be compiled; empty when valid.
    public func violations() -> [PolicyViolation] {
        var found: [PolicyViolation] = []
        if limits.maxEventBytes <= 0 {
            found.append(.init(.maxEventBytes, .notPositive(limits.maxEventBytes)))
        } else if limits.maxEventBytes > Limits.maxEventBytesCeiling {
            found.append(.init(.maxEventBytes, .aboveCeiling(value: limits.maxEventBytes, ceiling: Limits.maxEventBytesCeiling)))
        }
        if limits.maxDepth <= 0 {
            found.append(.init(.maxDepth, .notPositive(limits.maxDepth)))
        } else if limits.maxDepth > Limits.maxDepthCeiling {
            found.append(.init(.maxDepth, .aboveCeiling(value: limits.maxDepth, ceiling: Limits.maxDepthCeiling)))
        }
        if suppressionIdentifiers.isEmpty {
            found.append(.init(.suppressionIdentifiers, .noSuppressionIdentifiers))
        }
        var declared: Set<String> = []
        for (i, category) in (categories ?? []).enumerated() {
            if category.isEmpty { found.append(.init(.category(index: i), .emptyName)) }
            if !declared.insert(category).inserted {
                found.append(.init(.category(index: i), .duplicateCategory(category)))
            }
        }
        if destinations.count > DestinationSet.capacity {
            found.append(.init(.destinations, .tooManyDestinations(count: destinations.count, capacity: DestinationSet.capacity)))
        }
        var firstIndexOfId: [String: Int] = [:]
        var used: [String] = categories ?? []
        var usedSet = Set(used)
        for (d, destination) in destinations.enumerated() {
            if !Self.isValidIdentifier(destination.id) {
                found.append(.init(.destination(index: d, field: .id), .invalidDestinationId(destination.id)))
            } else if let first = firstIndexOfId[destination.id] {
                found.append(.init(.destination(index: d, field: .id), .duplicateDestinationId(destination.id, firstIndex: first)))
            } else {
                firstIndexOfId[destination.id] = d
            }
            var ownCategories: Set<String> = []
            for (c, category) in destination.categories.enumerated() {
                let location = PolicyLocation.destination(index: d, field: .category(index: c))
                if category.isEmpty {
                    found.append(.init(location, .emptyName))
                } else if categories != nil && !declared.contains(category) {
                    found.append(.init(location, .unknownCategory(category)))
                } else if !ownCategories.insert(category).inserted {
                    found.append(.init(location, .duplicateCategory(category)))
                }
                if usedSet.insert(category).inserted { used.append(category) }
            }
            if destination.subscriptionGroup != nil && destination.channel == nil {
                found.append(.init(.destination(index: d, field: .subscriptionGroup), .subscriptionGroupWithoutChannel))
            }
            if destination.subscriptionGroup == "" {
                found.append(.init(.destination(index: d, field: .subscriptionGroup), .emptyName))
            }
            if destination.integrationName == "" {
                found.append(.init(.destination(index: d, field: .integrationName), .emptyName))
            }
            if let tcf = destination.tcf { found += tcf.violations(destination: d) }
        }
        if used.count > CategorySet.capacity {
            found.append(.init(.categories, .tooManyCategories(count: used.count, capacity: CategorySet.capacity)))
        }
        return found
    }

    /// Destination ids and topic names share this alphabet: `[A-Za-z0-9._-]+`.
    public static func isValidIdentifier(_ text: String) -> Bool {
        !text.isEmpty && text.utf8.allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "-"):
                true
            default:
                false
            }
        }
    }
}

extension TCFRequirement {
    /// Ranges, purpose 1 not flexible, no purpose in both lists, no value twice in a list.
    func violations(destination d: Int) -> [PolicyViolation] {
        var found: [PolicyViolation] = []
        if !Self.vendorIdRange.contains(vendorId) {
            found.append(.init(.destination(index: d, field: .tcfVendorId), .outOfRange(value: vendorId, range: Self.vendorIdRange)))
        }
        func check(_ values: [Int], _ range: ClosedRange<Int>, _ field: (Int) -> PolicyLocation.DestinationField) {
            var seen: Set<Int> = []
            for (i, value) in values.enumerated() {
                let location = PolicyLocation.destination(index: d, field: field(i))
                if !range.contains(value) {
                    found.append(.init(location, .outOfRange(value: value, range: range)))
                } else if !seen.insert(value).inserted {
                    found.append(.init(location, .duplicateValue(value)))
                }
            }
        }
        check(purposes, Self.purposeRange) { .tcfPurpose(index: $0) }
        check(flexiblePurposes, Self.purposeRange) { .tcfFlexiblePurpose(index: $0) }
        check(specialFeatures, Self.specialFeatureRange) { .tcfSpecialFeature(index: $0) }
        for (i, purpose) in flexiblePurposes.enumerated() {
            let location = PolicyLocation.destination(index: d, field: .tcfFlexiblePurpose(index: i))
            if purpose == 1 {
                found.append(.init(location, .purposeOneFlexible))
            } else if purposes.contains(purpose) {
                found.append(.init(location, .purposeInBothLists(purpose)))
            }
        }
        return found
    }
}
