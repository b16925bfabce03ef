/// The signal steps of the decision (consent-signals.md section 3): TCF (3.1), Google Consent
/// Mode (3.2) and the US opt-outs of rule 4, and the names of what failed (section 4).
/// The deciding paths do not allocate; the `notGranted` names are for audit and `check --explain`.

/// One unmet TCF requirement; `name` is its audit `notGranted` name.
enum TCFFailure: Equatable {
    /// `required: true` and the event has no `tcf` signal.
    case missing
    /// The TC string is absent, does not decode, or has TcfPolicyVersion below 4.
    case invalid
    /// The vendor's consent bit is not set though `purposes` needs consent.
    case vendor
    case purpose(Int)
    case specialFeature(Int)
    /// A publisher restriction on this purpose blocks the vendor.
    case restriction(Int)

    var name: String {
        switch self {
        case .missing: "tcf:missing"
        case .invalid: "tcf:invalid"
        case .vendor: "tcf:vendor"
        case .purpose(let p): "tcf:purpose:\(p)"
        case .specialFeature(let f): "tcf:specialFeature:\(f)"
        case .restriction(let p): "tcf:restriction:\(p)"
        }
    }
}

/// An event's TC string, decoded on first use only (consent-signals.md section 6).
struct LazyTCString {
    private var decoded = false
    private var value: TCString?

    /// The usable TC string (Version 2, TcfPolicyVersion >= 4), or nil; notes an undecodable one.
    mutating func get(_ signals: ConsentSignals, _ policy: CompiledPolicy, invalid: inout InvalidSignals) -> TCString? {
        if !decoded {
            decoded = true
            if let text = signals.tcString {
                value = TCString.decode(text.bytes, vendors: policy.tcfVendors)
                if let tc = value, tc.policyVersion < 4 { value = nil }
                if value == nil { invalid.insert(.tcf) }
            }
        }
        return value
    }
}

enum SignalRules {
    /// Rule 3.1 for destination `index`. `report` receives each unmet requirement in audit order
    /// (vendor, purposes, flexible purposes, special features, restrictions) and returns
    /// whether to go on; the result is whether every requirement holds.
    static func tcfAllows(
        _ signals: ConsentSignals, _ rule: TCFRule, destination index: Int, tc: () -> TCString?,
        report: (TCFFailure) -> Bool
    ) -> Bool {
        guard signals.hasTCF else {
            guard rule.requirement.required else { return true }
            _ = report(.missing)
            return false
        }
        if signals.gdprDoesNotApply { return true }
        guard let tc = tc() else {
            _ = report(.invalid)
            return false
        }
        let consent = tc.vendorConsent.contains(index)
        let legitimateInterest = tc.vendorLegitimateInterest.contains(index)
        var allowed = true
        if rule.purposes != 0 && !consent {
            allowed = false
            if !report(.vendor) { return false }
        }
        if rule.purposes & ~tc.purposesConsent != 0 {
            allowed = false
            for p in rule.requirement.purposes where TCFMask.purpose(p) & tc.purposesConsent == 0 {
                if !report(.purpose(p)) { return false }
            }
        }
        let flexibleGranted = (consent ? tc.purposesConsent : 0) | (legitimateInterest ? tc.purposesLITransparency : 0)
        if rule.flexiblePurposes & ~flexibleGranted != 0 {
            allowed = false
            for p in rule.requirement.flexiblePurposes where TCFMask.purpose(p) & flexibleGranted == 0 {
                if !report(.purpose(p)) { return false }
            }
        }
        if rule.specialFeatures & ~tc.specialFeatureOptIns != 0 {
            allowed = false
            for f in rule.requirement.specialFeatures where TCFMask.specialFeature(f) & tc.specialFeatureOptIns == 0 {
                if !report(.specialFeature(f)) { return false }
            }
        }
        var goOn = true
        tc.forEachRestriction(vendorId: rule.requirement.vendorId) { purpose, type in
            guard goOn else { return }
            let bit = TCFMask.purpose(purpose)
            let isPurpose = rule.purposes & bit != 0
            let isFlexible = rule.flexiblePurposes & bit != 0
            let blocks: Bool
            switch type {
            case TCFRestriction.notAllowed:
                blocks = isPurpose || isFlexible
            case TCFRestriction.requireConsent:
                blocks = isFlexible && !(consent && tc.purposesConsent & bit != 0)
            case TCFRestriction.requireLegitimateInterest:
                // The vendor may not use consent for it, so a purpose needing consent is blocked.
                blocks = isPurpose || (isFlexible && !(legitimateInterest && tc.purposesLITransparency & bit != 0))
            default:
                blocks = false
            }
            if blocks {
                allowed = false
                goOn = report(.restriction(purpose))
            }
        }
        return allowed
    }

    /// Rule 3.2: every listed Consent Mode type is `granted`. Not enforced without the object.
    @inline(__always) static func googleAllows(_ signals: ConsentSignals, required: UInt8) -> Bool {
        !signals.hasGoogleConsent || required & ~signals.googleGranted == 0
    }

    /// Rule 4 without GPC: the `USOptOutSet` classes `usPrivacy` and GPP say the user opted out
    /// of; all of them where a signal fails closed. Notes strings that do not decode.
    static func usOptOuts(_ signals: ConsentSignals, invalid: inout InvalidSignals) -> UInt8 {
        var optOuts: UInt8 = 0
        if let text = signals.usPrivacy {
            if let usp = USPrivacyString(text.bytes) {
                optOuts |= usp.optOuts
            } else {
                invalid.insert(.usPrivacy)
                optOuts = USOptOutSet.all
            }
        }
        guard signals.hasGPP else { return optOuts }
        guard let text = signals.gppString else { return USOptOutSet.all }
        guard let gpp = GPPString.decode(text.bytes) else {
            invalid.insert(.gpp)
            return USOptOutSet.all
        }
        let applicable = signals.hasApplicableSections ? signals.applicableSections : gpp.sections
        if applicable.stateSection || (applicable.uspv1 && !gpp.sections.uspv1) || (applicable.usnat && !gpp.sections.usnat) {
            return USOptOutSet.all
        }
        if applicable.uspv1 { optOuts |= gpp.uspv1OptOuts }
        if applicable.usnat { optOuts |= gpp.usnatOptOuts }
        return optOuts
    }

    static func usNames(_ classes: UInt8) -> [String] {
        USOptOut.allCases.filter { classes & $0.bit != 0 }.map { "us:\($0.rawValue)" }
    }
}

extension Decider {
    /// What destination `index` was not granted, by the names of consent-signals.md section 4:
    /// category ids for `consent`, `tcf:...`, `google:...`, `us:...` (for `gpc` too). Empty for
    /// other reasons. Reads the last event decided: call it before the next `decide`, while the
    /// event's bytes are alive.
    public func notGranted(destination index: Int, reason: DropReason, in decision: Decision) -> [String] {
        let event = lastEvent
        switch reason {
        case .consent:
            return policy.categoryNames(decision.ungrantedCategories(forDestination: index, in: policy))
        case .tcf:
            guard let rule = policy.tcfRules[index] else { return [] }
            var names: [String] = []
            var lazy = LazyTCString()
            var ignored = InvalidSignals()
            _ = SignalRules.tcfAllows(event.signals, rule, destination: index, tc: { lazy.get(event.signals, policy, invalid: &ignored) }) { failure in
                if !names.contains(failure.name) { names.append(failure.name) }
                return true
            }
            return names
        case .googleConsent:
            return policy.destinations[index].googleConsent
                .filter { event.signals.googleGranted & $0.bit == 0 }
                .map { "google:\($0.rawValue)" }
        case .gpc:
            return SignalRules.usNames(policy.usOptOutClasses[index])
        case .usPrivacy:
            var ignored = InvalidSignals()
            return SignalRules.usNames(policy.usOptOutClasses[index] & SignalRules.usOptOuts(event.signals, invalid: &ignored))
        case .suppressed, .consentMissing, .integrations, .unsubscribed:
            return []
        }
    }
}
