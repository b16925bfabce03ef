@testable import ConsentEngine
import Testing

/// The signal steps of the decision (consent-signals.md sections 3 and 4) through `Decider`.
struct SignalRuleTests {
    let policy = compile(Policy(
        categories: ["Advertising", "Analytics"],
        destinations: [
            Destination(id: "gads", tcf: TCFRequirement(vendorId: 755, purposes: [1, 3, 4], flexiblePurposes: [2, 7], specialFeatures: [1])),
            Destination(id: "gmode", googleConsent: [.adUserData, .adPersonalization]),
            Destination(id: "sale", usOptOuts: [.sale]),
            Destination(id: "ta", usOptOuts: [.targetedAdvertising]),
            Destination(id: "ads", categories: ["Advertising"]),
            Destination(id: "plain"),
        ]))

    /// Vendor 755 consent and LI; purposes 1-3 consent, 2 LI; special feature 1; a type 0
    /// restriction on purpose 3 for 700-800 and a type 2 restriction on purpose 2 for 755.
    let restricted = "CP3tAUAP3tAUAAAAAAENAAEoAOAAAEAAAAAAF5gAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAgXmAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAACAEGAAwK8AyAKABAXm"

    private func event(consent: String, context: String = "") -> String {
        #"{"type":"track","event":"Order Completed","userId":"u","context":{"consent":{\#(consent)}\#(context)}}"#
    }

    /// Decides `json`; returns the drop reasons and the notGranted names by destination id.
    private func explain(_ json: String) -> (drop: [String: DropReason], notGranted: [String: [String]], invalid: InvalidSignals) {
        let decider = Decider(policy: policy)
        return Array(json.utf8).withUnsafeBytes { bytes in
            guard case .routed(let decision) = decider.decide(bytes, suppressions: .empty, subscriptions: SubscriptionStore()) else {
                Issue.record("not routed: \(json)")
                return ([:], [:], InvalidSignals())
            }
            var drop: [String: DropReason] = [:]
            var names: [String: [String]] = [:]
            for index in policy.destinations.indices {
                guard let reason = decision.dropReason(forDestination: index) else { continue }
                drop[policy.destinations[index].id] = reason
                names[policy.destinations[index].id] = decider.notGranted(destination: index, reason: reason, in: decision)
            }
            return (drop, names, decision.invalidSignals)
        }
    }

    @Test func tcfNamesEveryUnmetRequirementInAuditOrder() {
        let result = explain(event(consent: #""tcf":{"tcString":"\#(restricted)"}"#))
        #expect(result.drop == ["gads": .tcf])
        // Purpose 4 lacks consent; 7 has neither; purpose 3 is not allowed for 700-800 (type 0);
        // purpose 2 requires LI and has it, so the type 2 restriction does not block.
        #expect(result.notGranted["gads"] == ["tcf:purpose:4", "tcf:purpose:7", "tcf:restriction:3"])
    }

    @Test func undecodableSignalsGrantNothingAndAreCounted() {
        let result = explain(event(consent: #""tcf":{"tcString":"C=AA"},"usPrivacy":"1YXN","gpp":{"gppString":"DBA"}"#))
        #expect(result.drop == ["gads": .tcf, "sale": .usPrivacy, "ta": .usPrivacy])
        #expect(result.notGranted["gads"] == ["tcf:invalid"])
        #expect(result.notGranted["ta"] == ["us:targetedAdvertising"])
        #expect(result.invalid.contains(.tcf) && result.invalid.contains(.usPrivacy) && result.invalid.contains(.gpp))
    }

    @Test func signalsAreDecodedOnlyWhenADestinationNeedsThem() {
        let decider = Decider(policy: compile(Policy(destinations: [Destination(id: "plain"), Destination(id: "ads", categories: ["Advertising"])])))
        let json = event(consent: #""tcf":{"tcString":"C=AA"},"usPrivacy":"1YXN","gpp":{"gppString":"DBA"}"#)
        let outcome = Array(json.utf8).withUnsafeBytes { decider.decide($0, suppressions: .empty, subscriptions: SubscriptionStore()) }
        guard case .routed(let decision) = outcome else {
            Issue.record("not routed")
            return
        }
        #expect(decision.invalidSignals.isEmpty)
        #expect(decision.deliver.count == 2)
    }

    @Test func googleConsentModeAndUSOptOuts() {
        let result = explain(event(
            consent: #""googleConsent":{"ad_user_data":"GRANTED","ad_personalization":"denied"},"gpp":{"gppString":"DBABzw~1YYN~CAAlAAAAAAAA.Y","applicableSections":[7]}"#))
        #expect(result.drop == ["gmode": .googleConsent, "ta": .usPrivacy])
        #expect(result.notGranted["gmode"] == ["google:ad_personalization"])
        #expect(result.notGranted["ta"] == ["us:targetedAdvertising"])
        let gpc = explain(event(consent: #""usPrivacy":"1YYN""#, context: #","gpc":true"#))
        #expect(gpc.drop == ["sale": .gpc, "ta": .gpc])
        #expect(gpc.notGranted["sale"] == ["us:sale"])
    }

    @Test func consentManagementIsPreferences() {
        let denied = explain(event(consent: "", context: #","consentManagement":{"allowedConsentIds":["Advertising"],"deniedConsentIds":["Advertising"]}"#))
        #expect(denied.drop == ["ads": .consent])
        #expect(denied.notGranted["ads"] == ["Advertising"])
        let allowed = explain(event(consent: "", context: #","consentManagement":{"allowedConsentIds":["Advertising"]}"#))
        #expect(allowed.drop.isEmpty)
    }

    @Test(arguments: [
        (#""tcf":"CQ""#, InvalidReason.signalNotObject),
        (#""gpp":[]"#, .signalNotObject),
        (#""googleConsent":null"#, .signalNotObject),
        (#""tcf":{"tcString":1}"#, .signalNotString),
        (#""gpp":{"gppString":null}"#, .signalNotString),
        (#""usPrivacy":true"#, .signalNotString),
        (#""gpp":{"gppString":"DBAA","applicableSections":[7.0]}"#, .signalInvalid),
        (#""gpp":{"gppString":"DBAA","applicableSections":"7"}"#, .signalInvalid),
        (#""tcf":{"tcString":"a","tcString":"b"}"#, .duplicateKey),
    ])
    func structuralErrorsMakeTheEventInvalid(consent: String, reason: InvalidReason) {
        #expect(decide(event(consent: consent), policy: policy) == .invalid(reason))
    }

    @Test func consentManagementStructure() {
        for bad in [#""x""#, #"{"allowedConsentIds":"Advertising"}"#, #"{"deniedConsentIds":[1]}"#, #"{"allowedConsentIds":null}"#] {
            #expect(decide(event(consent: "", context: #","consentManagement":\#(bad)"#), policy: policy) == .invalid(.signalInvalid), "\(bad)")
        }
    }
}
