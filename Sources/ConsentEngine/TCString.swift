/// The core segment of an IAB TCF v2.2 TC string ("Consent string and vendor list formats v2"),
/// decoded without allocating: the fixed fields, and for the policy's TCF vendors whether their
/// consent and legitimate-interest bits are set, found by walking the vendor sections (bit field
/// or ranges) without building a set. Publisher restrictions are walked again on demand.
/// Segments after the core (`.`-separated) are ignored.
struct TCString {
    var version = 0
    var policyVersion = 0
    /// SpecialFeatureOptIns, PurposesConsent and PurposesLITransparency as read: the first
    /// feature or purpose is the most significant of 12 or 24 bits (see `TCFMask`).
    var specialFeatureOptIns: UInt32 = 0
    var purposesConsent: UInt32 = 0
    var purposesLITransparency: UInt32 = 0
    /// Destinations (of the vendors passed to `decode`) whose vendor consent / LI bit is set.
    var vendorConsent = DestinationSet()
    var vendorLegitimateInterest = DestinationSet()
    private var core: Base64URLBits
    private var restrictionsStart = 0
    private var restrictionCount = 0

    /// Where the vendor sections begin: the sum of the core field widths before them.
    static let vendorSectionStart = 213

    private init(core: Base64URLBits) { self.core = core }

    /// Decodes `text`; nil when it does not decode (bad base64url, Version other than 2,
    /// truncated). `vendors` are the policy's (destination, vendor id) pairs.
    static func decode(_ text: UnsafeRawBufferPointer, vendors: [TCFVendor]) -> TCString? {
        let coreText = prefix(text, upTo: UInt8(ascii: "."))
        guard !coreText.isEmpty, Base64URLBits.isBase64URL(coreText) else { return nil }
        var tc = TCString(core: Base64URLBits(text: coreText))
        do throws(SignalDecodeError) {
            try tc.read(vendors: vendors)
        } catch {
            return nil
        }
        return tc
    }

    private mutating func read(vendors: [TCFVendor]) throws(SignalDecodeError) {
        var cursor = BitCursor(core)
        version = Int(try cursor.read(6))
        guard version == 2 else { throw SignalDecodeError() }
        try cursor.skip(36 + 36 + 12 + 12 + 6 + 12 + 12)  // Created ... VendorListVersion
        policyVersion = Int(try cursor.read(6))
        try cursor.skip(2)  // IsServiceSpecific, UseNonStandardTexts
        specialFeatureOptIns = UInt32(try cursor.read(12))
        purposesConsent = UInt32(try cursor.read(24))
        purposesLITransparency = UInt32(try cursor.read(24))
        try cursor.skip(1 + 12)  // PurposeOneTreatment, PublisherCC
        vendorConsent = try Self.readVendorSection(&cursor, vendors)
        vendorLegitimateInterest = try Self.readVendorSection(&cursor, vendors)
        restrictionCount = Int(try cursor.read(12))
        restrictionsStart = cursor.position
        for _ in 0..<restrictionCount {
            try cursor.skip(6 + 2)
            try Self.skipRanges(&cursor)
        }
    }

    /// MaxVendorId, IsRangeEncoding, then a bit field or range entries. A vendor above
    /// MaxVendorId is never in it, even inside a range entry that reaches beyond.
    private static func readVendorSection(_ cursor: inout BitCursor, _ vendors: [TCFVendor]) throws(SignalDecodeError) -> DestinationSet {
        let maxVendorId = Int(try cursor.read(16))
        var granted = DestinationSet()
        if try cursor.read(1) == 0 {
            let start = cursor.position
            try cursor.skip(maxVendorId)
            for vendor in vendors where vendor.id <= maxVendorId && cursor.bits.bit(at: start + vendor.id - 1) {
                granted.insert(vendor.destination)
            }
            return granted
        }
        let entries = try cursor.read(12)
        for _ in 0..<entries {
            let isRange = try cursor.read(1) == 1
            let first = Int(try cursor.read(16))
            let last = isRange ? Int(try cursor.read(16)) : first
            for vendor in vendors where vendor.id >= first && vendor.id <= last && vendor.id <= maxVendorId {
                granted.insert(vendor.destination)
            }
        }
        return granted
    }

    private static func skipRanges(_ cursor: inout BitCursor) throws(SignalDecodeError) {
        let entries = try cursor.read(12)
        for _ in 0..<entries {
            let isRange = try cursor.read(1) == 1
            try cursor.skip(isRange ? 32 : 16)
        }
    }

    /// Calls `body(purposeId, restrictionType)` for each publisher restriction whose ranges
    /// include `vendorId`, in string order.
    func forEachRestriction(vendorId: Int, _ body: (Int, Int) -> Void) {
        guard restrictionCount > 0 else { return }
        var cursor = BitCursor(core, at: restrictionsStart)
        // Decoding checked every bit of the section, so these reads cannot fail.
        do throws(SignalDecodeError) {
            for _ in 0..<restrictionCount {
                let purpose = Int(try cursor.read(6))
                let type = Int(try cursor.read(2))
                var applies = false
                for _ in 0..<(try cursor.read(12)) {
                    let isRange = try cursor.read(1) == 1
                    let first = Int(try cursor.read(16))
                    let last = isRange ? Int(try cursor.read(16)) : first
                    if vendorId >= first && vendorId <= last { applies = true }
                }
                if applies { body(purpose, type) }
            }
        } catch {
            preconditionFailure("publisher restrictions changed after decoding")
        }
    }
}

/// A policy destination's TCF vendor.
struct TCFVendor: Sendable {
    let destination: Int
    let id: Int
}

/// Purpose and special-feature bit masks laid out as the TC string fields: id 1 is the most
/// significant of `width` bits.
enum TCFMask {
    @inline(__always) static func purpose(_ id: Int) -> UInt32 { bit(id, width: 24) }
    @inline(__always) static func specialFeature(_ id: Int) -> UInt32 { bit(id, width: 12) }

    @inline(__always) static func bit(_ id: Int, width: Int) -> UInt32 {
        id >= 1 && id <= width ? UInt32(1) << UInt32(width - id) : 0
    }

    static func of(_ ids: [Int], width: Int) -> UInt32 {
        ids.reduce(0) { $0 | bit($1, width: width) }
    }
}

/// Publisher restriction types (TCF v2.2); 3 is undefined and ignored.
enum TCFRestriction {
    static let notAllowed = 0
    static let requireConsent = 1
    static let requireLegitimateInterest = 2
}
