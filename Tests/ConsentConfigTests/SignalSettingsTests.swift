import ConsentConfig
import ConsentEngine
import Testing

/// The destination signal settings of consent-signals.md section 2 and their validation.
struct SignalSettingsTests {
    private func load(_ yaml: String) throws(ConfigurationError) -> Configuration {
        try Configuration.parse(yaml: yaml, file: "policy.yaml")
    }

    @Test func readsTCFUSOptOutsAndGoogleConsent() throws {
        let configuration = try load("""
            destinations:
              - id: google-ads
                categories: [Advertising]
                tcf:
                  vendorId: 755
                  purposes: [1, 3, 4]
                  flexiblePurposes: [2, 7]
                  specialFeatures: [1]
                  required: true
                usOptOuts: [sale, sharing, targetedAdvertising]
                googleConsent: [ad_user_data, ad_personalization]
              - id: legacy
                sale: true
            """)
        let ads = configuration.policy.destinations[0]
        #expect(ads.tcf == TCFRequirement(vendorId: 755, purposes: [1, 3, 4], flexiblePurposes: [2, 7], specialFeatures: [1], required: true))
        #expect(ads.usOptOuts == [.sale, .sharing, .targetedAdvertising])
        #expect(ads.googleConsent == [.adUserData, .adPersonalization])
        #expect(configuration.policy.destinations[1].effectiveUSOptOuts == [.sale])
    }

    @Test(arguments: [
        ("tcf: {vendorId: 0}", 4, "destinations[0].tcf.vendorId", "must be in 1...65535, got 0"),
        ("tcf: {vendorId: 65536}", 4, "destinations[0].tcf.vendorId", "must be in 1...65535"),
        ("tcf: {purposes: [1]}", 4, "destinations[0].tcf.vendorId", "required key is missing"),
        ("tcf: {vendorId: 1, purposes: [0, 25]}", 4, "destinations[0].tcf.purposes[1]", "must be in 1...24, got 25"),
        ("tcf: {vendorId: 1, specialFeatures: [13]}", 4, "destinations[0].tcf.specialFeatures[0]", "must be in 1...12, got 13"),
        ("tcf: {vendorId: 1, flexiblePurposes: [2, 1]}", 4, "destinations[0].tcf.flexiblePurposes[1]", "purpose 1 cannot be flexible"),
        ("tcf: {vendorId: 1, purposes: [3], flexiblePurposes: [3]}", 4, "destinations[0].tcf.flexiblePurposes[0]", "purpose 3 is in both"),
        ("tcf: {vendorId: 1, purposes: [3, 3]}", 4, "destinations[0].tcf.purposes[1]", "3 is listed twice"),
        ("tcf: {vendorId: 1, purposes: ['3']}", 4, "destinations[0].tcf.purposes[0]", "expected an integer"),
        ("tcf: {vendorId: 1, vendor: 2}", 4, "destinations[0].tcf.vendor", "unknown key 'vendor'"),
        ("usOptOuts: [sale, selling]", 4, "destinations[0].usOptOuts[1]", "expected one of sale, sharing, targetedAdvertising, got 'selling'"),
        ("googleConsent: [ad_storage, ads]", 4, "destinations[0].googleConsent[1]", "got 'ads'"),
    ])
    func invalidSettingNamesFileLineAndKeyPath(setting: String, line: Int, keyPath: String, problem: String) {
        let yaml = "categories: [Advertising]\ndestinations:\n  - id: a\n    \(setting)\n"
        do {
            _ = try load(yaml)
            Issue.record("accepted: \(setting)")
        } catch {
            let issue = error.issues.first { $0.keyPath == keyPath }
            #expect(issue != nil, "\(error)")
            #expect(issue?.line == line, "\(error)")
            #expect(error.description.contains("policy.yaml:\(line): \(keyPath): "), "\(error)")
            #expect(error.description.contains(problem), "\(error)")
        }
    }
}
