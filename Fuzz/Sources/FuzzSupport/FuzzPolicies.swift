import ConsentConfig
import ConsentEngine

/// A compiled policy with its suppression list, as the event targets decide against.
public struct FuzzPolicy: Sendable {
    public let name: String
    public let policy: CompiledPolicy
    public let suppressions: Suppressions
    /// The list as given, for the independent suppression oracle.
    public let suppressedSubjects: Set<String>

    /// Parses `configuration` with the real loader; a failure is a bug in this file.
    init(name: String, configuration: String, suppressed: Set<String>) {
        let loaded: Configuration
        do {
            loaded = try Configuration.parse(yaml: configuration, file: name)
            policy = try CompiledPolicy(loaded.policy)
        } catch {
            fatalError("fuzz policy \(name) does not load: \(error)")
        }
        var builder = Suppressions.Builder(identifiers: loaded.policy.suppressionIdentifiers)
        for subject in suppressed.sorted() { builder.insert(subject: subject) }
        self.name = name
        suppressions = builder.build()
        suppressedSubjects = suppressed
    }

    public var identifiers: [SuppressionIdentifier] { policy.policy.suppressionIdentifiers }
}

extension FuzzPolicy {
    /// The policies every event is decided against. They are the conformance configurations
    /// (../shared/conformance: differential.py's CONFIG and SIGNALS_CONFIG, whose destinations
    /// need TCF, GPP, US Privacy and Consent Mode signals, and visible.json's consent suite with
    /// tight limits so size and depth errors are reached), compiled into the binary so a finding
    /// replays without any file beside it.
    public static let all: [FuzzPolicy] = [
        FuzzPolicy(name: "differential.yaml", configuration: differentialConfiguration, suppressed: differentialSuppressed),
        FuzzPolicy(name: "differential-signals.yaml", configuration: differentialSignalsConfiguration, suppressed: differentialSuppressed),
        FuzzPolicy(name: "visible-consent.yaml", configuration: visibleConsentConfiguration, suppressed: ["user-suppressed", "u-4", "42"]),
    ]

    /// differential.py's `Gen(1).suppressed`, the list its seed-1 events were made against.
    static let differentialSuppressed: Set<String> = [
        "42", "P9@EXAMPLE.COM", "anon-3", "anon-7", "p4@example.com",
        "u-16", "u-36", "u-4", "u-48", "u-51", "u-54", "u-7", "u-8",
    ]

    static let differentialConfiguration = """
        {"categories": ["Advertising", "Analytics", "Functional", "DataSharing", "Persönlich"],
         "suppression": {"identifiers": ["userId", "anonymousId", "email"]},
         "destinations": [
          {"id": "ads", "categories": ["Advertising"], "integrationName": "Google Ads", "sale": true},
          {"id": "fb", "categories": ["Advertising", "DataSharing"], "sale": true},
          {"id": "amp", "categories": ["Analytics"], "integrationName": "Amplitude"},
          {"id": "anyd", "categories": ["Analytics", "Persönlich"], "match": "any"},
          {"id": "strict", "categories": ["Functional"], "missingConsent": "deny"},
          {"id": "mail", "categories": ["Functional"], "channel": "email", "integrationName": "Braze"},
          {"id": "news", "channel": "email", "subscriptionGroup": "Newsletter"},
          {"id": "sms", "channel": "sms"},
          {"id": "s3"},
          {"id": "archive", "categories": ["Advertising"], "enforceConsent": false}]}
        """

    static let differentialSignalsConfiguration = """
        {"categories": ["Advertising", "Analytics", "Functional", "DataSharing", "Persönlich"],
         "suppression": {"identifiers": ["userId", "anonymousId", "email"]},
         "destinations": [
          {"id": "ads", "categories": ["Advertising"], "integrationName": "Google Ads", "sale": true,
           "tcf": {"vendorId": 755, "purposes": [1, 3, 4], "flexiblePurposes": [2, 7], "specialFeatures": [1]},
           "googleConsent": ["ad_user_data", "ad_personalization"]},
          {"id": "fb", "categories": ["Advertising", "DataSharing"], "usOptOuts": ["sale", "sharing"],
           "tcf": {"vendorId": 89, "purposes": [1], "required": true}},
          {"id": "amp", "categories": ["Analytics"], "integrationName": "Amplitude", "googleConsent": ["analytics_storage"],
           "tcf": {"vendorId": 300, "flexiblePurposes": [8, 9, 10]}},
          {"id": "anyd", "categories": ["Analytics", "Persönlich"], "match": "any", "usOptOuts": ["targetedAdvertising"]},
          {"id": "strict", "categories": ["Functional"], "missingConsent": "deny", "googleConsent": ["ad_storage"]},
          {"id": "mail", "categories": ["Functional"], "channel": "email", "integrationName": "Braze",
           "tcf": {"vendorId": 300, "purposes": [1], "specialFeatures": [2]}},
          {"id": "news", "channel": "email", "subscriptionGroup": "Newsletter"},
          {"id": "sms", "channel": "sms", "usOptOuts": ["sharing"]},
          {"id": "s3"},
          {"id": "archive", "categories": ["Advertising"], "enforceConsent": false,
           "tcf": {"vendorId": 755, "purposes": [1], "required": true}, "googleConsent": ["ad_storage"]}]}
        """

    static let visibleConsentConfiguration = """
        {"limits": {"maxEventBytes": 4096, "maxDepth": 6},
         "categories": ["Advertising", "Analytics", "Functional", "DataSharing"],
         "destinations": [
          {"id": "ads", "categories": ["Advertising"], "integrationName": "Google Ads"},
          {"id": "fb", "categories": ["Advertising", "DataSharing"], "sale": true},
          {"id": "amp", "categories": ["Analytics"]},
          {"id": "anyd", "categories": ["Analytics", "Functional"], "match": "any"},
          {"id": "strict", "categories": ["Functional"], "missingConsent": "deny"},
          {"id": "s3"},
          {"id": "archive", "categories": ["Advertising"], "enforceConsent": false},
          {"id": "wa", "channel": "whatsapp"},
          {"id": "news", "channel": "email", "subscriptionGroup": "Newsletter"}]}
        """
}
