/// Why an event cannot be routed at all. It goes to the dead-letter topic; `code` is the stable
/// identifier used in DLQ headers, metrics labels and `consent-gate check` output.
public enum InvalidReason: UInt8, Sendable, CaseIterable, Error {
    /// Not well-formed JSON: grammar, number syntax, string escapes, control characters,
    /// trailing data, or an empty value.
    case invalidJSON
    /// A string contains bytes that are not well-formed UTF-8 (including overlong forms and
    /// UTF-8-encoded surrogates), or a `\u` escape names a lone surrogate.
    case invalidUTF8
    /// The value is larger than `limits.maxEventBytes`.
    case tooLarge
    /// Objects and arrays nest deeper than `limits.maxDepth`.
    case tooDeep
    /// The top-level value is not an object.
    case notAnObject
    /// No `type` key.
    case missingType
    /// `type` is not one of the six Segment event types.
    case unknownType
    /// Neither `userId` nor `anonymousId` is a non-empty string.
    case missingIdentity
    /// A key the rules read appears twice in the same object. Parsers disagree on which
    /// occurrence wins, so a crafted event could show the gate one identity or preference and a
    /// destination another.
    case duplicateKey
    /// Top-level `context` is present but not an object.
    case contextNotObject
    /// `context.consent` is present but not an object.
    case consentNotObject
    /// `context.consent.categoryPreferences` is present but not an object.
    case preferencesNotObject
    /// A value in `categoryPreferences` is not `true` or `false`.
    case preferenceNotBoolean
    /// Top-level `integrations` is present but not an object.
    case integrationsNotObject
    /// An identify's `context.messaging_subscriptions` is not an array of well-formed entries
    /// (address `key`, `type` EMAIL/SMS/WHATSAPP, known `status`, groups with `name`/`status`).
    case invalidSubscriptions
    /// A consent-change track event without `context.consent.categoryPreferences`.
    case consentChangeWithoutPreferences
    /// `context.consent.tcf`, `gpp` or `googleConsent` is present but not an object.
    case signalNotObject
    /// `tcf.tcString`, `gpp.gppString` or `context.consent.usPrivacy` is present but not a string.
    case signalNotString
    /// `gpp.applicableSections` is not an array of integers, or `context.consentManagement` is
    /// not an object whose `allowedConsentIds` / `deniedConsentIds` are arrays of strings.
    case signalInvalid

    /// Stable snake_case identifier.
    public var code: String {
        switch self {
        case .invalidJSON: "invalid_json"
        case .invalidUTF8: "invalid_utf8"
        case .tooLarge: "too_large"
        case .tooDeep: "too_deep"
        case .notAnObject: "not_an_object"
        case .missingType: "missing_type"
        case .unknownType: "unknown_type"
        case .missingIdentity: "missing_identity"
        case .duplicateKey: "duplicate_key"
        case .contextNotObject: "context_not_object"
        case .consentNotObject: "consent_not_object"
        case .preferencesNotObject: "preferences_not_object"
        case .preferenceNotBoolean: "preference_not_boolean"
        case .integrationsNotObject: "integrations_not_object"
        case .invalidSubscriptions: "invalid_subscriptions"
        case .consentChangeWithoutPreferences: "consent_change_without_preferences"
        case .signalNotObject: "signal_not_object"
        case .signalNotString: "signal_not_string"
        case .signalInvalid: "signal_invalid"
        }
    }
}

extension InvalidReason: CustomStringConvertible {
    public var description: String { code }
}

/// Why one destination does not receive a routed event (consent-rules section 3).
public enum DropReason: UInt8, Sendable, CaseIterable {
    case suppressed
    case consent
    case consentMissing
    /// The destination's IAB TCF requirements are not met (consent-signals.md 3.1).
    case tcf
    /// A Google Consent Mode type the destination lists is not `granted` (3.2).
    case googleConsent
    case gpc
    /// A US opt-out the destination lists, from `usPrivacy` or GPP (rule 4).
    case usPrivacy
    case integrations
    case unsubscribed

    /// Stable snake_case identifier, as in `consent-gate check` output and metrics labels.
    public var code: String {
        switch self {
        case .suppressed: "suppressed"
        case .consent: "consent"
        case .consentMissing: "consent_missing"
        case .tcf: "tcf"
        case .googleConsent: "google_consent"
        case .gpc: "gpc"
        case .usPrivacy: "us_privacy"
        case .integrations: "integrations"
        case .unsubscribed: "unsubscribed"
        }
    }
}

extension DropReason: CustomStringConvertible {
    public var description: String { code }
}
