/// The six Segment event types.
public enum EventType: String, Sendable, CaseIterable {
    case track, identify, page, screen, group, alias
}

/// A string extracted from an event: either a range of the input bytes (no escapes) or the
/// decoded form in the scanner's scratch buffer. Valid only while the input buffer is alive
/// and until the scanner's next `scan`; copy it (`string`) to keep it.
public struct EventText {
    public let bytes: UnsafeRawBufferPointer

    public var string: String { String(decoding: bytes, as: UTF8.self) }
}

/// Where a contact address was found, in the order consent-rules section 3.6 lists them.
public enum ContactSource: Int, Sendable, CaseIterable {
    case contextTraits
    case traits
    case properties
}

/// Up to one address per source (`context.traits`, `traits`, `properties`).
public struct ContactAddresses {
    public internal(set) var contextTraits: EventText?
    public internal(set) var traits: EventText?
    public internal(set) var properties: EventText?

    public subscript(source: ContactSource) -> EventText? {
        get {
            switch source {
            case .contextTraits: contextTraits
            case .traits: traits
            case .properties: properties
            }
        }
        set {
            switch source {
            case .contextTraits: contextTraits = newValue
            case .traits: traits = newValue
            case .properties: properties = newValue
            }
        }
    }

    public var isEmpty: Bool { contextTraits == nil && traits == nil && properties == nil }

    /// Whether every present address satisfies `predicate` (true when none is present).
    /// Iterates the three fields directly: no array, so no allocation on the decide path.
    public func allSatisfy(_ predicate: (UnsafeRawBufferPointer) -> Bool) -> Bool {
        if let text = contextTraits, !predicate(text.bytes) { return false }
        if let text = traits, !predicate(text.bytes) { return false }
        if let text = properties, !predicate(text.bytes) { return false }
        return true
    }

    /// Whether any present address satisfies `predicate`.
    public func contains(where predicate: (UnsafeRawBufferPointer) -> Bool) -> Bool {
        !allSatisfy { !predicate($0) }
    }
}

/// What the rules need from one event, extracted by `EventScanner` without building a tree.
/// Only top-level `context`, `integrations`, `traits` and `properties` are looked into.
public struct ScannedEvent {
    /// `nil` when `type` is absent or not one of the six types (see `hasType`).
    public internal(set) var type: EventType?
    /// Whether the top-level object has a `type` key at all.
    public internal(set) var hasType = false
    /// A track named `Segment Consent Preference Updated` or `Segment Consent Preference`.
    public var isConsentChange: Bool { type == .track && isConsentChangeName }
    var isConsentChangeName = false
    /// `messageId` when it is a string.
    public internal(set) var messageId: EventText?
    /// `userId` when it is a non-empty string.
    public internal(set) var userId: EventText?
    /// A numeric `userId` as the text JavaScript's `String()` gives for it (`4.2e1` -> "42"): not
    /// an identity (the spec requires a string), but still checked against the suppression list,
    /// as Segment's libraries turn numeric ids into strings that way.
    public internal(set) var numericUserId: EventText?
    /// Whether an identifier the policy checks is on the suppression list given to the scan, at
    /// any of its occurrences (each one of a duplicated key counts). Also set for invalid
    /// events, once the whole value is known to be a well-formed object: their subject can be
    /// read, so they are dropped as suppressed, not dead-lettered (consent-rules section 7).
    public internal(set) var subjectListed = false
    /// `anonymousId` when it is a non-empty string.
    public internal(set) var anonymousId: EventText?
    /// Non-empty string `email`s of `context.traits`, `traits`, `properties`.
    public internal(set) var emails = ContactAddresses()
    /// Non-empty string `phone`s of `context.traits`, `traits`, `properties`.
    public internal(set) var phones = ContactAddresses()
    /// Whether `context.consent.categoryPreferences` is present (an object).
    public internal(set) var hasPreferences = false
    /// Policy categories whose preference is the literal `true` (after the scan, when there is no
    /// `categoryPreferences`, the ids `context.consentManagement` allows and does not deny).
    public internal(set) var grantedCategories = CategorySet()
    /// The event carries preferences for rule 3: `categoryPreferences` or `consentManagement`.
    public var carriesPreferences: Bool { hasPreferences || signals.hasConsentManagement }
    /// TCF, GPP, US Privacy and Google Consent Mode signals, and `consentManagement`.
    public internal(set) var signals = ConsentSignals()
    /// Destinations whose integration name maps to `false`.
    public internal(set) var integrationsDisabled = DestinationSet()
    /// Destinations whose integration name maps to the literal `true`.
    public internal(set) var integrationsEnabled = DestinationSet()
    /// `integrations.All == false`.
    public internal(set) var allIntegrationsDisabled = false
    /// `context.gpc == true`.
    public internal(set) var gpc = false
    /// Byte offsets of `context.messaging_subscriptions`'s value, read only for identify events.
    var subscriptionsRange: Range<Int>?

    init() {}

    /// `consentManagement` is read as preferences when `categoryPreferences` is absent; an id
    /// in both of its lists is refused.
    mutating func resolveConsentManagement() {
        guard !hasPreferences && signals.hasConsentManagement else { return }
        grantedCategories = CategorySet(bits: signals.allowedConsentIds.bits & ~signals.deniedConsentIds.bits)
    }
}
