/// The CMP signals of an event (consent-signals.md section 1), as the scanner found them under
/// `context.consent` and `context.consentManagement`. Strings are kept as text: they are decoded
/// later, at most once per event and only when a destination needs them.
public struct ConsentSignals {
    /// `context.consent.tcf` is an object.
    public internal(set) var hasTCF = false
    /// `tcf.tcString`; nil when absent (the signal then grants nothing).
    public internal(set) var tcString: EventText?
    /// `tcf.gdprApplies` is the literal `false`: TCF is not enforced for this event.
    public internal(set) var gdprDoesNotApply = false
    /// `context.consent.gpp` is an object.
    public internal(set) var hasGPP = false
    /// `gpp.gppString`; nil when absent (fails closed for US privacy).
    public internal(set) var gppString: EventText?
    /// `gpp.applicableSections` is present; `applicableSections` then says which US sections it names.
    public internal(set) var hasApplicableSections = false
    public internal(set) var applicableSections = GPPSectionFlags()
    /// `context.consent.usPrivacy`.
    public internal(set) var usPrivacy: EventText?
    /// `context.consent.googleConsent` is an object.
    public internal(set) var hasGoogleConsent = false
    /// `GoogleConsentType.bit`s whose value is `granted` (ASCII case-insensitive).
    public internal(set) var googleGranted: UInt8 = 0
    /// `context.consentManagement` is an object; its ids as policy categories.
    public internal(set) var hasConsentManagement = false
    var allowedConsentIds = CategorySet()
    var deniedConsentIds = CategorySet()

    /// Whether the event carries a string-valued US privacy signal (`usPrivacy` or `gpp`).
    var hasUSPrivacySignal: Bool { usPrivacy != nil || hasGPP }
}

/// The GPP section ids that matter for US privacy: uspv1 (6), usnat (7), and any US state
/// section (8 and above, not decoded: fail closed).
public struct GPPSectionFlags: Equatable, Sendable {
    public internal(set) var uspv1 = false
    public internal(set) var usnat = false
    public internal(set) var stateSection = false

    init() {}

    mutating func insert(_ id: UInt64) {
        switch id {
        case 6: uspv1 = true
        case 7: usnat = true
        case 8...: stateSection = true
        default: break
        }
    }
}

/// A set of `USOptOut` classes as bits.
enum USOptOutSet {
    static let sale: UInt8 = 1
    static let sharing: UInt8 = 2
    static let targetedAdvertising: UInt8 = 4
    static let all: UInt8 = 7
}

/// A signal whose string did not decode (consent-signals.md section 1: it grants nothing),
/// counted by `consent_gate_invalid_signals_total{signal}`.
public enum SignalKind: UInt8, Sendable, CaseIterable {
    case tcf
    case gpp
    case usPrivacy

    /// The metric label.
    public var code: String {
        switch self {
        case .tcf: "tcf"
        case .gpp: "gpp"
        case .usPrivacy: "us_privacy"
        }
    }
}

/// The signals of one event that did not decode.
public struct InvalidSignals: Sendable, Equatable {
    var bits: UInt8 = 0

    public init() {}

    public var isEmpty: Bool { bits == 0 }

    public func contains(_ kind: SignalKind) -> Bool { bits & (1 << kind.rawValue) != 0 }

    mutating func insert(_ kind: SignalKind) { bits |= 1 << kind.rawValue }
}
