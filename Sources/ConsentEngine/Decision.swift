/// The result of deciding one event.
public enum Outcome: Sendable {
    /// The event goes to the dead-letter topic and to no destination.
    case invalid(InvalidReason)
    /// An invalid event whose subject can be read and is suppressed (consent-rules section 7):
    /// it goes to no destination and not to the dead-letter topic, is counted as suppressed for
    /// every destination, and leaves no audit record.
    case suppressedInvalid(InvalidReason)
    case routed(Decision)
}

/// Deliver or drop(reason) for every destination of the policy, as destination-index sets.
/// Every destination is in exactly one of `deliver` and the per-reason drop sets.
public struct Decision: Sendable, Equatable {
    public internal(set) var deliver: DestinationSet
    public internal(set) var suppressed = DestinationSet()
    public internal(set) var consent = DestinationSet()
    public internal(set) var consentMissing = DestinationSet()
    public internal(set) var tcf = DestinationSet()
    public internal(set) var googleConsent = DestinationSet()
    public internal(set) var gpc = DestinationSet()
    public internal(set) var usPrivacy = DestinationSet()
    public internal(set) var integrations = DestinationSet()
    public internal(set) var unsubscribed = DestinationSet()
    /// Policy categories the event granted (`true` in `categoryPreferences`).
    public internal(set) var grantedCategories: CategorySet
    /// Subscription changes the event carried (identify with `context.messaging_subscriptions`),
    /// already taken into account for this event. The caller applies them to its store (the
    /// `inout` overload of `Decider.decide` does) and may publish them. Empty otherwise, and for
    /// suppressed subjects.
    public internal(set) var subscriptionUpdates: [SubscriptionUpdate] = []
    /// Signals whose string had to be decoded for this event and did not decode
    /// (`consent_gate_invalid_signals_total`).
    public internal(set) var invalidSignals = InvalidSignals()

    init(deliver: DestinationSet, grantedCategories: CategorySet) {
        self.deliver = deliver
        self.grantedCategories = grantedCategories
    }

    /// The destinations dropped for `reason`.
    public func dropped(for reason: DropReason) -> DestinationSet {
        switch reason {
        case .suppressed: suppressed
        case .consent: consent
        case .consentMissing: consentMissing
        case .tcf: tcf
        case .googleConsent: googleConsent
        case .gpc: gpc
        case .usPrivacy: usPrivacy
        case .integrations: integrations
        case .unsubscribed: unsubscribed
        }
    }

    /// Why destination `index` is dropped; nil when it is delivered.
    public func dropReason(forDestination index: Int) -> DropReason? {
        if suppressed.contains(index) { return .suppressed }
        if consent.contains(index) { return .consent }
        if consentMissing.contains(index) { return .consentMissing }
        if tcf.contains(index) { return .tcf }
        if googleConsent.contains(index) { return .googleConsent }
        if gpc.contains(index) { return .gpc }
        if usPrivacy.contains(index) { return .usPrivacy }
        if integrations.contains(index) { return .integrations }
        if unsubscribed.contains(index) { return .unsubscribed }
        return nil
    }

    /// For a destination dropped for `consent`: its mapped categories that were not granted.
    public func ungrantedCategories(forDestination index: Int, in policy: CompiledPolicy) -> CategorySet {
        CategorySet(bits: policy.requiredCategories[index] & ~grantedCategories.bits)
    }
}
