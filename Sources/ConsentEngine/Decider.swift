/// Decides events against a compiled policy, per consent-rules section 3. One decider per
/// thread (it owns the scanner's scratch buffer); the policy, suppression and subscription
/// snapshots are shared immutable values. Deciding a valid event does not allocate, except
/// for an identify that carries subscription changes.
public final class Decider {
    public let policy: CompiledPolicy
    private let scanner: EventScanner
    /// The fields of the last event decided (its texts point into that event's bytes and this
    /// decider's scratch buffer: valid until the next call while those bytes are alive). After an
    /// invalid outcome, only what was extracted before the problem was found.
    public var lastEvent: ScannedEvent { scanner.current.pointee }

    public init(policy: CompiledPolicy) {
        self.policy = policy
        self.scanner = EventScanner(policy: policy)
    }

    /// Decides one event, applying the subscription changes it carries to `subscriptions`.
    public func decide(_ bytes: UnsafeRawBufferPointer, suppressions: Suppressions, subscriptions: inout SubscriptionStore) -> Outcome {
        let outcome = decide(bytes, suppressions: suppressions, subscriptions: subscriptions)
        if case .routed(let decision) = outcome, !decision.subscriptionUpdates.isEmpty {
            subscriptions.apply(decision.subscriptionUpdates)
        }
        return outcome
    }

    /// Decides one event against the current state; the event's own subscription changes are
    /// taken into account but returned in the decision rather than applied.
    public func decide(_ bytes: UnsafeRawBufferPointer, suppressions: Suppressions, subscriptions: some SubscriptionLookup) -> Outcome {
        let problem = withUnsafePointer(to: suppressions) { scanner.scanInPlace(bytes, suppressions: $0) }
        if let reason = problem { return invalid(reason) }
        // Read in place: a copy of the extracted fields would cost more than deciding.
        let event = UnsafePointer(scanner.current)
        var updates: [SubscriptionUpdate] = []
        if event.pointee.type == .identify, let range = event.pointee.subscriptionsRange {
            guard let parsed = parseSubscriptionUpdates(UnsafeRawBufferPointer(rebasing: bytes[range])) else {
                return invalid(.invalidSubscriptions)
            }
            updates = parsed
        }
        let all = policy.all
        var decision = Decision(deliver: all, grantedCategories: event.pointee.grantedCategories)

        // 1. Suppressed subject: nothing flows, not even its subscription changes.
        if event.pointee.subjectListed {
            decision.suppressed = all
            decision.deliver = DestinationSet()
            return .routed(decision)
        }
        decision.subscriptionUpdates = updates

        // 2. A consent change skips consent, the CMP signals and GPC so destinations learn about it.
        if !event.pointee.isConsentChange {
            // 3. Consent (`categoryPreferences`, else `consentManagement`).
            if event.pointee.carriesPreferences {
                let granted = event.pointee.grantedCategories.bits
                var refused = DestinationSet()
                for index in policy.enforced {
                    let required = policy.requiredCategories[index]
                    let ok = policy.matchAny.contains(index) ? granted & required != 0 : granted & required == required
                    if !ok { refused.insert(index) }
                }
                decision.consent = refused
            } else {
                decision.consentMissing = policy.enforced.intersection(policy.denyMissing)
            }
            decision.deliver.subtract(decision.consent)
            decision.deliver.subtract(decision.consentMissing)

            // 3.1 IAB TCF.
            let tcfCandidates = decision.deliver.intersection(policy.tcfEnforced)
            if !tcfCandidates.isEmpty {
                decision.tcf = tcfDrops(tcfCandidates, event, &decision.invalidSignals)
                decision.deliver.subtract(decision.tcf)
            }

            // 3.2 Google Consent Mode.
            if event.pointee.signals.hasGoogleConsent {
                for index in decision.deliver.intersection(policy.googleEnforced)
                where !SignalRules.googleAllows(event.pointee.signals, required: policy.googleRequired[index]) {
                    decision.googleConsent.insert(index)
                }
                decision.deliver.subtract(decision.googleConsent)
            }

            // 4. Global Privacy Control (it wins), then the US opt-outs of usPrivacy and GPP.
            if event.pointee.gpc {
                decision.gpc = decision.deliver.intersection(policy.usPrivacy)
                decision.deliver.subtract(decision.gpc)
            } else if event.pointee.signals.hasUSPrivacySignal {
                let candidates = decision.deliver.intersection(policy.usPrivacy)
                if !candidates.isEmpty {
                    let optOuts = SignalRules.usOptOuts(event.pointee.signals, invalid: &decision.invalidSignals)
                    for index in candidates where policy.usOptOutClasses[index] & optOuts != 0 {
                        decision.usPrivacy.insert(index)
                    }
                    decision.deliver.subtract(decision.usPrivacy)
                }
            }
        }

        // 5. Integrations object.
        var disabled = event.pointee.integrationsDisabled
        if event.pointee.allIntegrationsDisabled { disabled.formUnion(all.subtracting(event.pointee.integrationsEnabled)) }
        decision.integrations = decision.deliver.intersection(disabled)
        decision.deliver.subtract(decision.integrations)

        // 6. Messaging channels.
        for index in decision.deliver.intersection(policy.messaging) {
            if !isSubscribed(event, destination: index, updates: updates, subscriptions) {
                decision.unsubscribed.insert(index)
            }
        }
        decision.deliver.subtract(decision.unsubscribed)
        return .routed(decision)
    }

    /// The destinations of `candidates` whose TCF requirements the event does not meet; the TC
    /// string is decoded once, when the first of them needs it.
    private func tcfDrops(_ candidates: DestinationSet, _ event: UnsafePointer<ScannedEvent>, _ invalid: inout InvalidSignals) -> DestinationSet {
        var drops = DestinationSet()
        var tc = LazyTCString()
        for index in candidates {
            guard let rule = policy.tcfRules[index] else { continue }
            let allowed = SignalRules.tcfAllows(
                event.pointee.signals, rule, destination: index, tc: { tc.get(event.pointee.signals, policy, invalid: &invalid) },
                report: { _ in false })
            if !allowed { drops.insert(index) }
        }
        return drops
    }

    /// An invalid event is dead-lettered, unless its subject can be read and is suppressed
    /// (consent-rules section 7): then it is dropped like every event of that subject, since the
    /// dead-letter topic is kept for replay and would keep the person's data.
    private func invalid(_ reason: InvalidReason) -> Outcome {
        scanner.current.pointee.subjectListed ? .suppressedInvalid(reason) : .invalid(reason)
    }

    /// Rule 6: the event carries at least one address for the destination's channel, and every
    /// address it carries (it may name different ones in context.traits, traits, properties) is
    /// SUBSCRIBED, to the group too when the destination names one.
    private func isSubscribed(_ event: UnsafePointer<ScannedEvent>, destination index: Int, updates: [SubscriptionUpdate], _ store: some SubscriptionLookup) -> Bool {
        let channel = policy.channels[index]!
        let addresses = channel == .email ? event.pointee.emails : event.pointee.phones
        guard !addresses.isEmpty else { return false }
        let group = policy.subscriptionGroups[index]
        return addresses.allSatisfy { address in
            guard status(address, channel, group: nil, updates, store) == .subscribed else { return false }
            guard let group else { return true }
            return group.withUnsafeBytes { status(address, channel, group: $0, updates, store) == .subscribed }
        }
    }

    /// The status after this event's own updates (the last matching one wins), else the store's.
    private func status(
        _ address: UnsafeRawBufferPointer, _ channel: Channel, group: UnsafeRawBufferPointer?,
        _ updates: [SubscriptionUpdate], _ store: some SubscriptionLookup
    ) -> SubscriptionStatus? {
        for update in updates.reversed() where update.channel == channel && sameGroup(update.group, group) {
            let matches = update.address.withUTF8Bytes { candidate in
                candidate.count == address.count && zip(candidate, address).allSatisfy { stored, given in
                    stored == (channel == .email ? asciiLowercase(given) : given)
                }
            }
            if matches { return update.status }
        }
        return store.status(address: address, channel: channel, group: group)
    }

    private func sameGroup(_ stored: String?, _ wanted: UnsafeRawBufferPointer?) -> Bool {
        guard let stored, let wanted else { return stored == nil && wanted == nil }
        return stored.withUTF8Bytes { $0.elementsEqual(wanted) }
    }
}
