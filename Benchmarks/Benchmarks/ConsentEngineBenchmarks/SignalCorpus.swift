import ConsentEngine

/// Issue 12's engine corpus: gen_events.py-shaped events (`EventGenerator`) of which 30% carry
/// a TCF v2.2 TC string with about 300 vendors in range encoding and 10% a GPP string with a
/// usnat section, under `context.consent` (consent-signals.md section 1).
enum SignalCorpus {
    /// 16 distinct TC strings: ~300 vendor consents in ~60 ranges over ids 1..1500, the LI
    /// section alike; some lack purpose 4 or vendor 755, so both outcomes are exercised.
    static let tcStrings: [String] = {
        var r = SplitMix64(state: 12)
        return (0..<16).map { i in
            var consent = randomRanges(&r)
            if i % 4 != 3 { consent.append((755, 755)) }  // Google (google-ads below) in 3 of 4
            if i % 2 == 0 { consent.append((89, 89)) }     // facebook-capi's vendor in half
            let purposes: [Int] = i % 5 == 4 ? [1, 2, 3, 7, 9, 10] : [1, 2, 3, 4, 7, 9, 10]
            return encodeTC(purposes: purposes, li: [2, 7, 9, 10], specialFeatures: i % 3 == 0 ? [] : [1],
                            consent: consent, legitimateInterest: randomRanges(&r) + [(755, 755)])
        }
    }()

    /// usnat v1 (made with ../shared/conformance/signals.py): no opt-out; sale and sharing opted
    /// out; targeted advertising opted out.
    static let gppStrings = ["DBABL~BVQqAAAAAg", "DBABL~BVQWAAAAAg", "DBABL~BVQpAAAAAg"]

    static func events(count: Int, seed: UInt64 = 1) -> [[UInt8]] {
        var generator = EventGenerator(seed: seed)
        var r = SplitMix64(state: seed &+ 1000)
        return (0..<count).map { _ in
            var event = generator.next()
            let roll = r.random()
            var signal = ""
            if roll < 0.30 {
                signal = "\"tcf\":{\"tcString\":\"\(r.choice(tcStrings))\",\"gdprApplies\":true}"
            } else if roll < 0.40 {
                signal = "\"gpp\":{\"gppString\":\"\(r.choice(gppStrings))\",\"applicableSections\":[7]}"
            }
            if !signal.isEmpty {
                if let range = event.range(of: "\"consent\":{") {
                    event.replaceSubrange(range, with: "\"consent\":{\(signal),")
                } else if let range = event.range(of: "\"context\":{") {
                    event.replaceSubrange(range, with: "\"context\":{\"consent\":{\(signal)},")
                }
            }
            return Array(event.utf8)
        }
    }

    /// 55-65 runs of 1-9 vendors (about 300 ids) in 1...1500, ascending, not touching 89 or 755.
    private static func randomRanges(_ r: inout SplitMix64) -> [(Int, Int)] {
        var ranges: [(Int, Int)] = []
        var next = 1
        let runs = r.randint(55, 65)
        for _ in 0..<runs {
            let start = next + r.randint(1, 18)
            let end = start + r.randint(0, 8)
            guard end < 1500 else { break }
            if !(start...end).contains(89) && !(start...end).contains(755) { ranges.append((start, end)) }
            next = end + 1
        }
        return ranges
    }

    /// A TC string core segment, field by field as "Consent string and vendor list formats v2".
    static func encodeTC(purposes: [Int], li: [Int], specialFeatures: [Int], consent: [(Int, Int)], legitimateInterest: [(Int, Int)]) -> String {
        var w = BitWriter()
        w.write(2, 6)                      // Version
        w.write(17_000_000_000, 36)        // Created (deciseconds)
        w.write(17_000_000_000, 36)        // LastUpdated
        w.write(7, 12); w.write(1, 12)     // CmpId, CmpVersion
        w.write(1, 6)                      // ConsentScreen
        w.write(4, 6); w.write(13, 6)      // ConsentLanguage EN
        w.write(150, 12)                   // VendorListVersion
        w.write(5, 6)                      // TcfPolicyVersion
        w.write(1, 1); w.write(0, 1)       // IsServiceSpecific, UseNonStandardTexts
        w.idSet(specialFeatures, 12)
        w.idSet(purposes, 24)
        w.idSet(li, 24)
        w.write(0, 1)                      // PurposeOneTreatment
        w.write(3, 6); w.write(4, 6)       // PublisherCC DE
        for section in [consent, legitimateInterest] {
            let sorted = section.sorted { $0.0 < $1.0 }
            w.write(UInt64(sorted.last?.1 ?? 0), 16)  // MaxVendorId
            w.write(1, 1)                             // IsRangeEncoding
            w.write(UInt64(sorted.count), 12)
            for (start, end) in sorted {
                w.write(start == end ? 0 : 1, 1)
                w.write(UInt64(start), 16)
                if start != end { w.write(UInt64(end), 16) }
            }
        }
        w.write(0, 12)                     // NumPubRestrictions
        return w.base64URL()
    }
}

struct BitWriter {
    private var bits: [Bool] = []
    mutating func write(_ value: UInt64, _ width: Int) {
        for i in stride(from: width - 1, through: 0, by: -1) { bits.append(value >> UInt64(i) & 1 == 1) }
    }
    /// `width` bits, the first for id 1.
    mutating func idSet(_ ids: [Int], _ width: Int) {
        for i in 1...width { bits.append(ids.contains(i)) }
    }
    func base64URL() -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
        var out = ""
        var i = 0
        while i < bits.count {
            var v = 0
            for j in 0..<6 { v = v << 1 | (i + j < bits.count && bits[i + j] ? 1 : 0) }
            out.append(alphabet[v])
            i += 6
        }
        return out
    }
}
