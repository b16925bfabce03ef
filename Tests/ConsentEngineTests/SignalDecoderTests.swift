@testable import ConsentEngine
import Testing

/// The TC string, GPP and US Privacy decoders (consent-signals.md section 5). Vectors marked
/// [source] were published with the standards or their reference libraries; the others were
/// encoded with ../shared/conformance/signals.py.
struct SignalDecoderTests {
    /// Decodes `text` with one policy vendor per id (destination i has `vendorIds[i]`).
    private func withTC<R>(_ text: String, vendors vendorIds: [Int] = [], _ body: (TCString?) -> R) -> R {
        let vendors = vendorIds.enumerated().map { TCFVendor(destination: $0.offset, id: $0.element) }
        return Array(text.utf8).withUnsafeBytes { body(TCString.decode($0, vendors: vendors)) }
    }

    private func ids(_ set: DestinationSet, _ vendorIds: [Int]) -> [Int] { set.map { vendorIds[$0] }.sorted() }

    private func gpp(_ text: String) -> GPPString? { Array(text.utf8).withUnsafeBytes { GPPString.decode($0) } }

    private func usp(_ text: String) -> USPrivacyString? { Array(text.utf8).withUnsafeBytes { USPrivacyString($0) } }

    @Test func publishedCoreFields() {
        // [iabtcf-es modules/cli/README.md]: Version 2, CmpId 2, policy version 2, no purposes.
        withTC("COrVd1pOrVd1pACABCENAHCAAAAAAAAAAAiQAAAAAAAA") { tc in
            #expect(tc?.version == 2)
            #expect(tc?.policyVersion == 2)
            #expect(tc?.purposesConsent == 0)
        }
        // [IAB TCF spec example with segments]: core decodes, the segments are ignored.
        withTC("CQSbk4AQSbk4ANwAAAENAwCgAAAAAAAAAAYgACPAAAAA.IDKQA4AAgAKAGQAygAAA.YAAAAAAAAAAA") { tc in
            #expect(tc?.version == 2)
        }
        // [iabtcf-es ReportedIssues.test.ts, issue 156]: a TCF v1 string is not v2.
        withTC("BOhwdphOxFC7tAHABBFRC--AAAAuhr_7__7-_9_-_f__9uj3Or_v_f__32ccL59v_h_7v-_7fi_20nV4u_1vft9yfk1-5ctDztp507iakivXmqdeb9v_nz3_5pxP78k89r7337Ew_v8_v-b7BCON_YxEiA") { tc in
            #expect(tc == nil)
        }
    }

    @Test(arguments: [
        // [iabgpp-es GppModel.test.ts] tcfeuv2 sections: bit field {28}, ranges {29} and {1, 173, 722}.
        ("CPSG_8APSG_8AAAAAAENAACAAAAAAAAAAAAAAOAAAABAAAAA", [28]),
        ("CPSG_8APSG_8AAAAAAENAACAAAAAAAAAAAAAAOwAQAOgAAAA", [29]),
        ("CPSG_8APSG_8AAAAAAENAACAAAAAAAAAAAAAFpQAwAAgCtAWkAAAAAAA", [1, 173, 722]),
    ])
    func publishedVendorConsents(text: String, granted: [Int]) {
        let asked = [1, 27, 28, 29, 30, 172, 173, 174, 721, 722, 723]
        withTC(text, vendors: asked) { tc in
            #expect(tc.map { ids($0.vendorConsent, asked) } == granted)
        }
    }

    @Test func publishedPublisherRestrictions() {
        // [iabtcf-es ReportedIssues.test.ts, issue 201]: purpose 1, require consent, for 7, 20, 71, 122, 140, 183.
        let text = "CO4VGswO4VGswAfZCBDEAzCsAP_AAH_AAAigGUNf_X9fb2vj-_599_t0eY1f9_63t-wzjheMs-8NyZ-X_J4Wv2MyvB34JqQKGRgkunLBAQdtHGncTQgBwIlViTLMY02MjzNKJrJEilsbe2dYGH9vn8XT_ZKZ70-_v__7v3___33_5Ayhr_6_r7e18f3_Pvv9ujzGr_v_W9v2GccLxln3huTPy_5PC1-xmV4O_BNSBQyMEl05YICDto407iaEAOBEqsSZZjGmxkeZpRNZIkUtjb2zrAw_t8_i6f7JTPen39___d-___--__ICgKAOAAcAA4AFAAjgB6AEYALcGACAW0AtoJAHAAOAAcACgARwA9ACMAFuFABALaAW0GgDgAHAAOABQAI4AegBGAC3DgAgFtALaEQBwADgAHAAoAEcAPQAjABbiQAQC2gFtCoA4ABwADgAUACOAHoARgAtxYAIBbQC2hkAcAA4ABwAKABHAD0AIwAW40AEAtoBbQ6AOAAcAA4AFAAjgB6AEYALceACAW0AtohAHAAOAAcACgARwA9ACMAFuRABALaAW0SgDgAHAAOABQAI4AegBGAC3JgAgFtALaKQBwADgAHAAoAEcAPQAjABblQAQC2gFtA"
        withTC(text) { tc in
            guard let tc else {
                Issue.record("does not decode")
                return
            }
            for vendor in [6, 7, 20, 21, 183, 184] {
                var restrictions: [String] = []
                tc.forEachRestriction(vendorId: vendor) { purpose, type in restrictions.append("\(purpose)/\(type)") }
                #expect(restrictions.contains("1/1") == [7, 20, 183].contains(vendor), "vendor \(vendor): \(restrictions)")
            }
        }
    }

    @Test func rangeBoundariesAndMaxVendorId() {
        // Consent ranges 10-20 and 30 with MaxVendorId 40.
        let asked = [9, 10, 11, 20, 21, 29, 30, 31, 40]
        withTC("CP3tAUAP3tAUAAAAAAENAAEgALAAAAAAAAAAAUQAoAFAAoAB4AAIAAAA", vendors: asked) { tc in
            #expect(tc.map { ids($0.vendorConsent, asked) } == [10, 11, 20, 30])
            #expect(tc?.purposesConsent == TCFMask.of([1, 3, 4], width: 24))
        }
        // A consent range 50-100 beyond MaxVendorId 60: only up to 60 counts. LI bit field {7, 8}.
        let beyond = [49, 50, 60, 61, 100, 7, 8, 9]
        withTC("CP3tAUAP3tAUAAAAAAENAAFgAAAAAAAAAAAAAeQAYAZADIABADAA", vendors: beyond) { tc in
            #expect(tc.map { ids($0.vendorConsent, beyond) } == [50, 60])
            #expect(tc.map { ids($0.vendorLegitimateInterest, beyond) } == [7, 8])
        }
        // Bit fields: consent {1, 5} (MaxVendorId 5), LI {2} with MaxVendorId 3; ids above are never granted.
        let bits = [1, 2, 3, 4, 5, 6, 65535]
        withTC("CP3tAUAP3tAUAAAAAAENAAEgAAAAAAAAAAAAACogAGQAA", vendors: bits) { tc in
            #expect(tc.map { ids($0.vendorConsent, bits) } == [1, 5])
            #expect(tc.map { ids($0.vendorLegitimateInterest, bits) } == [2])
        }
        // The largest vendor ids: consent range 65534-65535, LI 65535 alone.
        withTC("CP3tAUAP3tAUAAAAAAENAAEgAAAAAAAAAAAH__wAf__f____8AF__4AA", vendors: [65533, 65534, 65535]) { tc in
            #expect(tc.map { ids($0.vendorConsent, [65533, 65534, 65535]) } == [65534, 65535])
            #expect(tc.map { ids($0.vendorLegitimateInterest, [65533, 65534, 65535]) } == [65535])
        }
    }

    @Test func truncatedOverLongAndNonBase64() {
        let text = "CP3tAUAP3tAUAAAAAAENAAEgALAAAAAAAAAAAUQAoAFAAoAB4AAIAAAA"
        // Every proper prefix cuts a field short: the last character holds the restriction count.
        for length in 0..<(text.count - 1) {
            withTC(String(text.prefix(length))) { tc in #expect(tc == nil, "prefix of \(length) characters decoded") }
        }
        // Bits after the last field are padding and ignored; so is everything after a '.'.
        withTC(text + "AAAA", vendors: [10]) { tc in #expect(tc?.vendorConsent.contains(0) == true) }
        withTC(text + ".not base64 at all!", vendors: [10]) { tc in #expect(tc?.vendorConsent.contains(0) == true) }
        for bad in ["=", "+", "/", " ", "\u{E9}", "\n"] {
            withTC(String(text.prefix(20)) + bad + String(text.dropFirst(20))) { tc in #expect(tc == nil, "accepted \(bad.debugDescription)") }
            withTC(text + bad) { tc in #expect(tc == nil, "accepted a trailing \(bad.debugDescription)") }
        }
        withTC(".") { tc in #expect(tc == nil) }
    }

    @Test func usPrivacyStrings() {
        // [IAB US Privacy String.md] examples.
        #expect(usp("1YNN")?.optsOutOfSale == false)
        #expect(usp("1NYN")?.optsOutOfSale == true)
        #expect(usp("1-Y-")?.optsOutOfSale == true)
        #expect(usp("1---")?.optsOutOfSale == false)
        for bad in ["", "1YN", "1YNNN", "2YNN", "1yNN", "1YXN", "1 NN"] {
            #expect(usp(bad) == nil, "accepted \(bad.debugDescription)")
        }
    }

    @Test func gppHeadersAndSections() {
        // [GPP Consent String Specification.md] example 2: tcfeuv2 and uspv1 1YNN.
        let example = gpp("DBACNY~CPXxRfAPXxRfAAfKABENB-CgAAAAAAAAAAYgAAAAAAAA~1YNN")
        #expect(example?.sections == flags(uspv1: true))
        #expect(example?.uspv1OptOuts == 0)
        // [iabgpp-es GppModel.test.ts]: uspv1 with a sale opt-out.
        #expect(gpp("DBABTA~1YYN")?.uspv1OptOuts == USOptOutSet.sale | USOptOutSet.sharing)
        // [iabgpp-es]: header with 2 and 5..22, the Fibonacci range encoding.
        let defaults = gpp("DBACOdM~CPSG_8APSG_8AAAAAAENAACAAAAAAAAAAAAAAAAAAAAA.QAAA.IAAA~BPSG_8APSG_8AAAAAAENAACAAAAAAAAAAAAAAAAAAA.YAAAAAAAAAA"
            + "~1---~BAAAAAAAAABA.QA~BAAAAABA.QA~BAAAABA~BAAAAEA.QA~BAAAAAQA~BAAAAAEA.QA~BAAAAABA~BAAAAABA.QA~BAAAAAABAA.QA"
            + "~BAAAAAQA.QA~BAAAAAABAA.QA~BAAAAAQA.QA~BAAAAAQA.QA~BAAAAABA.QA~BAAAAAAAQA.QA~BAAAAAQA.QA")
        #expect(defaults?.sections == flags(uspv1: true, usnat: true, state: true))
        #expect(defaults?.usnatOptOuts == 0)
        // [iabgpp-es UsNat.test.ts]: every notice and opt-out field 1 (v1, GPC subsection).
        #expect(gpp("DBABLA~BVVVkkkklWA.YA")?.usnatOptOuts == USOptOutSet.all)
        // [iabgpp-es]: SaleOptOut 2 (did not opt out).
        #expect(gpp("DBABLA~BVQqAAAAAgA.QA")?.usnatOptOuts == 0)
        // usnat v2 with sharing and targeted-advertising opt-outs, uspv1 with a sale opt-out.
        let both = gpp("DBABzw~1YYN~CAAlAAAAAAAA.Y")
        #expect(both?.usnatOptOuts == USOptOutSet.sharing | USOptOutSet.targetedAdvertising)
        #expect(both?.uspv1OptOuts == USOptOutSet.sale | USOptOutSet.sharing)
        // Ids 1, 2, 3, 100, 101, 4000: large Fibonacci offsets.
        #expect(gpp("DBAD7hD0gpY~a~b~c~d~e~f")?.sections == flags(state: true))
        #expect(gpp("DBAA")?.sections == flags())
    }

    @Test(arguments: [
        "", "DBA", "~", "1YNN", "DBABTA", "DBABTA~1YNN~1YNN", "EBABTA~1YNN", "DCABTA~1YNN", "D=ABTA~1YNN",
        "DBABTA~1YXN", "DBABLA~BVVVkkkk", "DBABLA~BVVVkkkklWA.", "DBABLA~BVVVkkkklWA.Y=", "DBABLA~DVVVkkkklWA",
    ])
    func gppThatDoesNotDecode(text: String) {
        #expect(gpp(text) == nil)
    }

    private func flags(uspv1: Bool = false, usnat: Bool = false, state: Bool = false) -> GPPSectionFlags {
        var flags = GPPSectionFlags()
        if uspv1 { flags.insert(6) }
        if usnat { flags.insert(7) }
        if state { flags.insert(8) }
        return flags
    }
}
