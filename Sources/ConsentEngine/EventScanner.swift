/// Validates an event as RFC 8259 JSON in one pass and extracts what the rules need.
///
/// - One object per thread: it owns a scratch buffer (sized `maxEventBytes`) for decoded
///   strings, so scanning a valid event does not allocate.
/// - Whole-value validation: UTF-8 (no overlongs, no encoded surrogates, nothing above
///   U+10FFFF), grammar, number syntax, escapes, no control characters in strings, nothing but
///   whitespace after the value, no byte order mark.
/// - `\u` escapes: a surrogate pair decodes to its code point; a lone surrogate is rejected
///   (`invalid_utf8`), as Foundation's parser does, so an extracted id is always valid Unicode.
/// - Duplicate keys: a repeated key among the fields the rules read is `duplicate_key`
///   (see `InvalidReason.duplicateKey`); elsewhere duplicates are allowed.
/// - Syntax and limit errors win over rule errors; among rule errors the first one met wins,
///   then not_an_object, missing/unknown type, missing identity, consent change without
///   preferences are checked in that order.
public final class EventScanner {
    public let policy: CompiledPolicy
    private let scratch: UnsafeMutablePointer<UInt8>
    /// Where a numeric `userId`'s JavaScript text is written (`JSNumberText`).
    private let numberText: UnsafeMutablePointer<UInt8>
    /// Where the parser writes the extracted fields: owned storage, so nothing is copied.
    let current: UnsafeMutablePointer<ScannedEvent>

    public init(policy: CompiledPolicy) {
        self.policy = policy
        scratch = .allocate(capacity: max(policy.limits.maxEventBytes, 1))
        numberText = .allocate(capacity: JSNumberText.capacity)
        current = .allocate(capacity: 1)
        current.initialize(to: ScannedEvent())
    }

    deinit {
        scratch.deallocate()
        numberText.deallocate()
        current.deinitialize(count: 1)
        current.deallocate()
    }

    /// Scans one event. The texts in the result point into `bytes` and into this scanner's
    /// scratch buffer: use them before the next call and while `bytes` is alive.
    public func scan(_ bytes: UnsafeRawBufferPointer) -> Result<ScannedEvent, InvalidReason> {
        if let reason = scanInPlace(bytes, suppressions: nil) { return .failure(reason) }
        return .success(current.pointee)
    }

    /// Scans into `current`; nil when the event is valid. The decide path uses this form. With
    /// `suppressions`, every occurrence of an identifier the policy checks is looked up as it is
    /// read (`ScannedEvent.subjectListed`): an invalid event may repeat a key, and any
    /// occurrence names the subject.
    func scanInPlace(_ bytes: UnsafeRawBufferPointer, suppressions: UnsafePointer<Suppressions>?) -> InvalidReason? {
        current.pointee = ScannedEvent()
        guard bytes.count <= policy.limits.maxEventBytes else { return .tooLarge }
        guard let base = bytes.baseAddress, bytes.count > 0 else { return .invalidJSON }
        let start = base.assumingMemoryBound(to: UInt8.self)
        var parser = EventParser(
            start: start, end: start + bytes.count, maxDepth: policy.limits.maxDepth, scratch: scratch, numberText: numberText,
            policy: policy, suppressions: suppressions, event: current)
        do {
            try parser.parseDocument()
        } catch {
            // Not a well-formed object (or past a limit): its identity cannot be read.
            current.pointee.subjectListed = false
            return error
        }
        if let reason = parser.firstInvalidReason() { return reason }
        current.pointee.resolveConsentManagement()
        return nil
    }
}

/// The recursive-descent parser behind `EventScanner`; a stack value per scan.
struct EventParser {
    /// What a value means to the rules, decided by the keys on the path to it.
    enum Role {
        case skip
        case root
        case context
        case consent
        case preferences
        case preference(bit: Int?)
        case contactHolder(ContactSource)
        case email(ContactSource)
        case phone(ContactSource)
        case integrations
        /// `slot` indexes `CompiledPolicy.integrationDestinations` (nil: no destination uses the
        /// name); kept small because a role is passed with every value.
        case integration(slot: Int?, isAll: Bool)
        case type, event, messageId, userId, anonymousId
        case gpc
        case subscriptions
        // CMP signals (consent-signals.md section 1).
        case tcf, tcString, gdprApplies
        case gpp, gppString, applicableSections, sectionId
        case usPrivacy
        case googleConsent
        case googleConsentType(bit: UInt8)
        case consentManagement
        case consentIds(allowed: Bool)
        case consentId(allowed: Bool)

        @inline(__always) var isSkip: Bool {
            if case .skip = self { return true }
            return false
        }
    }

    enum Kind { case object, array, string, trueLiteral, falseLiteral, null, number }


    let start: UnsafePointer<UInt8>
    let end: UnsafePointer<UInt8>
    let maxDepth: Int
    let scratch: UnsafeMutablePointer<UInt8>
    let numberText: UnsafeMutablePointer<UInt8>
    let policy: CompiledPolicy
    /// The lists identities are looked up in as they are read; nil: no lookups.
    let suppressions: UnsafePointer<Suppressions>?
    var p: UnsafePointer<UInt8>
    var scratchUsed = 0
    /// The scanner's storage for the extracted fields.
    let event: UnsafeMutablePointer<ScannedEvent>
    var isObject = false
    var ruleError: InvalidReason?

    init(
        start: UnsafePointer<UInt8>, end: UnsafePointer<UInt8>, maxDepth: Int, scratch: UnsafeMutablePointer<UInt8>,
        numberText: UnsafeMutablePointer<UInt8>, policy: CompiledPolicy, suppressions: UnsafePointer<Suppressions>?,
        event: UnsafeMutablePointer<ScannedEvent>
    ) {
        self.numberText = numberText
        self.suppressions = suppressions
        self.event = event
        self.start = start
        self.end = end
        self.p = start
        self.maxDepth = maxDepth
        self.scratch = scratch
        self.policy = policy
    }

    mutating func parseDocument() throws(InvalidReason) {
        try parseValue(.root, depth: 0)
        skipWhitespace()
        guard p == end else { throw .invalidJSON }
    }

    /// The rule-level reason once the whole value is known to be well-formed JSON.
    func firstInvalidReason() -> InvalidReason? {
        if !isObject { return .notAnObject }
        if let ruleError { return ruleError }
        if !event.pointee.hasType { return .missingType }
        if event.pointee.type == nil { return .unknownType }
        if event.pointee.userId == nil && event.pointee.anonymousId == nil { return .missingIdentity }
        if event.pointee.isConsentChange && !event.pointee.hasPreferences { return .consentChangeWithoutPreferences }
        return nil
    }

    @inline(__always) func peek() -> UInt8 { p < end ? p.pointee : 0 }

    @inline(__always) func peek(_ offset: Int) -> UInt8 { end - p > offset ? p[offset] : 0 }

    @inline(__always) mutating func skipWhitespace() {
        while p < end {
            switch p.pointee {
            case 0x20, 0x0A, 0x0D, 0x09: p += 1
            default: return
            }
        }
    }

    @inline(__always) mutating func noteRuleError(_ reason: InvalidReason) {
        if ruleError == nil { ruleError = reason }
    }

    // MARK: Values

    mutating func parseValue(_ role: Role, depth: Int) throws(InvalidReason) {
        skipWhitespace()
        let valueStart = p
        switch peek() {
        case UInt8(ascii: "{"):
            guard depth < maxDepth else { throw .tooDeep }
            let objectRole = role.isSkip ? .skip : note(.object, role)
            try parseObject(objectRole, depth: depth + 1)
        case UInt8(ascii: "["):
            guard depth < maxDepth else { throw .tooDeep }
            let elementRole = role.isSkip ? .skip : note(.array, role)
            try parseArray(elementRole, depth: depth + 1)
        case UInt8(ascii: "\""):
            let raw = try scanString()
            if !role.isSkip { noteString(raw, role) }
        case UInt8(ascii: "t"):
            try expectLiteral("true")
            if !role.isSkip { _ = note(.trueLiteral, role) }
        case UInt8(ascii: "f"):
            try expectLiteral("false")
            if !role.isSkip { _ = note(.falseLiteral, role) }
        case UInt8(ascii: "n"):
            try expectLiteral("null")
            if !role.isSkip { _ = note(.null, role) }
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            let isInteger = try scanNumber()
            if case .userId = role {
                let count = JSNumberText.write(literal: UnsafeBufferPointer(start: valueStart, count: p - valueStart), into: numberText)
                let text = UnsafeRawBufferPointer(start: numberText, count: count)
                event.pointee.numericUserId = EventText(bytes: text)
                if policy.checksUserId, let suppressions, suppressions.pointee.userIds.contains(text) { event.pointee.subjectListed = true }
            }
            if case .sectionId = role {
                if isInteger {
                    noteSectionId(UnsafeBufferPointer(start: valueStart, count: p - valueStart))
                } else {
                    noteRuleError(.signalInvalid)
                }
                return
            }
            if !role.isSkip { _ = note(.number, role) }
        default:
            throw .invalidJSON
        }
        if case .subscriptions = role {
            event.pointee.subscriptionsRange = (valueStart - start)..<(p - start)
        }
    }

    /// Applies a non-string value to its role; for objects, returns the role of the object itself,
    /// for arrays the role of their elements (`.skip` when the rules do not look inside).
    mutating func note(_ kind: Kind, _ role: Role) -> Role {
        switch role {
        case .root:
            isObject = kind == .object
            return isObject ? .root : .skip
        case .context:
            if kind == .object { return .context }
            noteRuleError(.contextNotObject)
        case .consent:
            if kind == .object { return .consent }
            noteRuleError(.consentNotObject)
        case .preferences:
            if kind == .object {
                event.pointee.hasPreferences = true
                return .preferences
            }
            noteRuleError(.preferencesNotObject)
        case .preference(let bit):
            switch kind {
            case .trueLiteral: if let bit { event.pointee.grantedCategories.insert(bit) }
            case .falseLiteral: break
            default: noteRuleError(.preferenceNotBoolean)
            }
        case .integrations:
            if kind == .object { return .integrations }
            noteRuleError(.integrationsNotObject)
        case .integration(let slot, let isAll):
            let destinations = slot.map { policy.integrationDestinations[$0] } ?? DestinationSet()
            if kind == .falseLiteral {
                event.pointee.integrationsDisabled.formUnion(destinations)
                if isAll { event.pointee.allIntegrationsDisabled = true }
            } else if kind == .trueLiteral {
                event.pointee.integrationsEnabled.formUnion(destinations)
            }
        case .contactHolder:
            if kind == .object { return role }
        case .gpc:
            if kind == .trueLiteral { event.pointee.gpc = true }
        case .type:
            event.pointee.hasType = true
        case .tcf:
            if kind == .object {
                event.pointee.signals.hasTCF = true
                return .tcf
            }
            noteRuleError(.signalNotObject)
        case .gpp:
            if kind == .object {
                event.pointee.signals.hasGPP = true
                return .gpp
            }
            noteRuleError(.signalNotObject)
        case .googleConsent:
            if kind == .object {
                event.pointee.signals.hasGoogleConsent = true
                return .googleConsent
            }
            noteRuleError(.signalNotObject)
        case .tcString, .gppString, .usPrivacy:
            noteRuleError(.signalNotString)
        case .gdprApplies:
            if kind == .falseLiteral { event.pointee.signals.gdprDoesNotApply = true }
        case .applicableSections:
            if kind == .array {
                event.pointee.signals.hasApplicableSections = true
                return .sectionId
            }
            noteRuleError(.signalInvalid)
        case .consentManagement:
            if kind == .object {
                event.pointee.signals.hasConsentManagement = true
                return .consentManagement
            }
            noteRuleError(.signalInvalid)
        case .consentIds(let allowed):
            if kind == .array { return .consentId(allowed: allowed) }
            noteRuleError(.signalInvalid)
        case .sectionId, .consentId:
            noteRuleError(.signalInvalid)
        case .skip, .email, .phone, .event, .messageId, .userId, .anonymousId, .subscriptions, .googleConsentType:
            break
        }
        return .skip
    }

    /// An integer of `applicableSections` (its literal text, no fraction or exponent).
    mutating func noteSectionId(_ text: UnsafeBufferPointer<UInt8>) {
        guard text.first != UInt8(ascii: "-") else { return }
        var value: UInt64 = 0
        for digit in text {
            value = min(value &* 10 &+ UInt64(digit &- UInt8(ascii: "0")), 1 << 40)
        }
        event.pointee.signals.applicableSections.insert(value)
    }

    mutating func noteString(_ raw: RawString, _ role: Role) {
        switch role {
        case .type:
            event.pointee.hasType = true
            let text = decoded(raw, keep: false)
            event.pointee.type = EventParser.eventType(text)
        case .event:
            let text = decoded(raw, keep: false)
            event.pointee.isConsentChangeName = equals(text, "Segment Consent Preference Updated") || equals(text, "Segment Consent Preference")
        case .messageId:
            event.pointee.messageId = EventText(bytes: decoded(raw, keep: true))
        case .userId:
            guard raw.count > 0 else { return }
            let text = decoded(raw, keep: true)
            event.pointee.userId = EventText(bytes: text)
            if policy.checksUserId, let suppressions, suppressions.pointee.userIds.contains(text) { event.pointee.subjectListed = true }
        case .anonymousId:
            guard raw.count > 0 else { return }
            let text = decoded(raw, keep: true)
            event.pointee.anonymousId = EventText(bytes: text)
            if policy.checksAnonymousId, let suppressions, suppressions.pointee.anonymousIds.contains(text) {
                event.pointee.subjectListed = true
            }
        case .email(let source):
            guard raw.count > 0 else { return }
            let text = decoded(raw, keep: true)
            event.pointee.emails[source] = EventText(bytes: text)
            if policy.checksEmail, let suppressions, isListedEmail(text, in: suppressions.pointee.emails) { event.pointee.subjectListed = true }
        case .phone(let source):
            if raw.count > 0 { event.pointee.phones[source] = EventText(bytes: decoded(raw, keep: true)) }
        case .tcString:
            event.pointee.signals.tcString = EventText(bytes: decoded(raw, keep: true))
        case .gppString:
            event.pointee.signals.gppString = EventText(bytes: decoded(raw, keep: true))
        case .usPrivacy:
            event.pointee.signals.usPrivacy = EventText(bytes: decoded(raw, keep: true))
        case .googleConsentType(let bit):
            if equalsIgnoringASCIICase(decoded(raw, keep: false), "granted") { event.pointee.signals.googleGranted |= bit }
        case .consentId(let allowed):
            if let bit = policy.categoryBit(decoded(raw, keep: false)) {
                if allowed {
                    event.pointee.signals.allowedConsentIds.insert(bit)
                } else {
                    event.pointee.signals.deniedConsentIds.insert(bit)
                }
            }
        default:
            _ = note(.string, role)
        }
    }

    static func eventType(_ text: UnsafeRawBufferPointer) -> EventType? {
        switch text.count {
        case 5: equals(text, "track") ? .track : equals(text, "alias") ? .alias : equals(text, "group") ? .group : nil
        case 8: equals(text, "identify") ? .identify : nil
        case 4: equals(text, "page") ? .page : nil
        case 6: equals(text, "screen") ? .screen : nil
        default: nil
        }
    }

    // MARK: Containers

    mutating func parseObject(_ role: Role, depth: Int) throws(InvalidReason) {
        p += 1
        skipWhitespace()
        if peek() == UInt8(ascii: "}") {
            p += 1
            return
        }
        var seenKeys: UInt64 = 0
        var seenDestinations = DestinationSet()
        while true {
            skipWhitespace()
            guard peek() == UInt8(ascii: "\"") else { throw .invalidJSON }
            let rawKey = try scanString()
            var child = Role.skip
            if case .skip = role {} else {
                let key = decoded(rawKey, keep: false)
                let (resolved, keyBit) = Self.childRole(of: role, key: key, policy: policy)
                child = resolved
                if keyBit != 0 {
                    if seenKeys & keyBit != 0 { noteRuleError(.duplicateKey) }
                    seenKeys |= keyBit
                }
                if case .integration(let slot?, _) = resolved {
                    let destinations = policy.integrationDestinations[slot]
                    if !seenDestinations.intersection(destinations).isEmpty { noteRuleError(.duplicateKey) }
                    seenDestinations.formUnion(destinations)
                }
            }
            skipWhitespace()
            guard peek() == UInt8(ascii: ":") else { throw .invalidJSON }
            p += 1
            try parseValue(child, depth: depth)
            skipWhitespace()
            switch peek() {
            case UInt8(ascii: ","):
                p += 1
            case UInt8(ascii: "}"):
                p += 1
                return
            default:
                throw .invalidJSON
            }
        }
    }

    mutating func parseArray(_ elementRole: Role, depth: Int) throws(InvalidReason) {
        p += 1
        skipWhitespace()
        if peek() == UInt8(ascii: "]") {
            p += 1
            return
        }
        while true {
            try parseValue(elementRole, depth: depth)
            skipWhitespace()
            switch peek() {
            case UInt8(ascii: ","):
                p += 1
            case UInt8(ascii: "]"):
                p += 1
                return
            default:
                throw .invalidJSON
            }
        }
    }

    /// The role of the value under `key`, and a bit identifying the key for duplicate detection
    /// (0 for keys the rules ignore). Static: a method on the large parser value would copy it.
    static func childRole(of parent: Role, key: UnsafeRawBufferPointer, policy: CompiledPolicy) -> (Role, UInt64) {
        switch parent {
        case .root:
            switch key.count {
            case 4 where equals(key, "type"): return (.type, 1 << 0)
            case 5 where equals(key, "event"): return (.event, 1 << 1)
            case 9 where equals(key, "messageId"): return (.messageId, 1 << 2)
            case 6 where equals(key, "userId"): return (.userId, 1 << 3)
            case 11 where equals(key, "anonymousId"): return (.anonymousId, 1 << 4)
            case 12 where equals(key, "integrations"): return (.integrations, 1 << 5)
            case 7 where equals(key, "context"): return (.context, 1 << 6)
            case 6 where equals(key, "traits"): return (.contactHolder(.traits), 1 << 7)
            case 10 where equals(key, "properties"): return (.contactHolder(.properties), 1 << 8)
            default: return (.skip, 0)
            }
        case .context:
            if equals(key, "consent") { return (.consent, 1 << 0) }
            if equals(key, "traits") { return (.contactHolder(.contextTraits), 1 << 1) }
            if equals(key, "messaging_subscriptions") { return (.subscriptions, 1 << 2) }
            if equals(key, "gpc") { return (.gpc, 1 << 3) }
            if equals(key, "consentManagement") { return (.consentManagement, 1 << 4) }
            return (.skip, 0)
        case .consent:
            switch key.count {
            case 19 where equals(key, "categoryPreferences"): return (.preferences, 1 << 0)
            case 3 where equals(key, "tcf"): return (.tcf, 1 << 1)
            case 3 where equals(key, "gpp"): return (.gpp, 1 << 2)
            case 9 where equals(key, "usPrivacy"): return (.usPrivacy, 1 << 3)
            case 13 where equals(key, "googleConsent"): return (.googleConsent, 1 << 4)
            default: return (.skip, 0)
            }
        case .tcf:
            if equals(key, "tcString") { return (.tcString, 1 << 0) }
            if equals(key, "gdprApplies") { return (.gdprApplies, 1 << 1) }
            return (.skip, 0)
        case .gpp:
            if equals(key, "gppString") { return (.gppString, 1 << 0) }
            if equals(key, "applicableSections") { return (.applicableSections, 1 << 1) }
            return (.skip, 0)
        case .googleConsent:
            let type: GoogleConsentType
            if equals(key, "ad_storage") {
                type = .adStorage
            } else if equals(key, "analytics_storage") {
                type = .analyticsStorage
            } else if equals(key, "ad_user_data") {
                type = .adUserData
            } else if equals(key, "ad_personalization") {
                type = .adPersonalization
            } else {
                return (.skip, 0)
            }
            return (.googleConsentType(bit: type.bit), UInt64(type.bit))
        case .consentManagement:
            if equals(key, "allowedConsentIds") { return (.consentIds(allowed: true), 1 << 0) }
            if equals(key, "deniedConsentIds") { return (.consentIds(allowed: false), 1 << 1) }
            return (.skip, 0)
        case .contactHolder(let source):
            if equals(key, "email") { return (.email(source), 1 << 0) }
            if equals(key, "phone") { return (.phone(source), 1 << 1) }
            return (.skip, 0)
        case .preferences:
            guard let bit = policy.categoryBit(key) else { return (.preference(bit: nil), 0) }
            return (.preference(bit: bit), UInt64(1) << UInt64(bit))
        case .integrations:
            let slot = policy.integrationSlot(name: key)
            if equals(key, "All") { return (.integration(slot: slot, isAll: true), 1) }
            return slot == nil ? (.skip, 0) : (.integration(slot: slot, isAll: false), 0)
        default:
            return (.skip, 0)
        }
    }

    // MARK: Strings

    /// A string's bytes between the quotes, as in the input.
    struct RawString {
        let start: UnsafePointer<UInt8>
        let count: Int
        let hasEscapes: Bool
    }

    /// Validates a string starting at the opening quote and moves past the closing quote.
    mutating func scanString() throws(InvalidReason) -> RawString {
        p += 1
        let contentStart = p
        var hasEscapes = false
        while true {
            while end - p >= 8 && !mayNeedAttention(UnsafeRawPointer(p).loadUnaligned(as: UInt64.self)) { p += 8 }
            guard p < end else { throw .invalidJSON }
            let byte = p.pointee
            if byte == UInt8(ascii: "\"") {
                let raw = RawString(start: contentStart, count: p - contentStart, hasEscapes: hasEscapes)
                p += 1
                return raw
            } else if byte == UInt8(ascii: "\\") {
                hasEscapes = true
                try scanEscape()
            } else if byte < 0x20 {
                throw .invalidJSON
            } else if byte < 0x80 {
                p += 1
            } else {
                try scanUTF8Sequence(byte)
            }
        }
    }

    mutating func scanEscape() throws(InvalidReason) {
        switch peek(1) {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"),
             UInt8(ascii: "f"), UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
            p += 2
        case UInt8(ascii: "u"):
            let unit = try hexQuad(at: 2)
            p += 6
            if unit & 0xFC00 == 0xD800 {
                guard peek() == UInt8(ascii: "\\"), peek(1) == UInt8(ascii: "u") else { throw .invalidUTF8 }
                let low = try hexQuad(at: 2)
                guard low & 0xFC00 == 0xDC00 else { throw .invalidUTF8 }
                p += 6
            } else if unit & 0xFC00 == 0xDC00 {
                throw .invalidUTF8
            }
        default:
            throw .invalidJSON
        }
    }

    func hexQuad(at offset: Int) throws(InvalidReason) -> UInt32 {
        var value: UInt32 = 0
        for i in offset..<offset + 4 {
            guard let digit = hexValue(peek(i)) else { throw .invalidJSON }
            value = value << 4 | digit
        }
        return value
    }

    /// Validates one multi-byte UTF-8 sequence led by `lead` (>= 0x80), per RFC 3629's table.
    mutating func scanUTF8Sequence(_ lead: UInt8) throws(InvalidReason) {
        let length: Int
        var low: UInt8 = 0x80
        var high: UInt8 = 0xBF
        switch lead {
        case 0xC2...0xDF: length = 2
        case 0xE0: length = 3; low = 0xA0
        case 0xE1...0xEC, 0xEE...0xEF: length = 3
        case 0xED: length = 3; high = 0x9F
        case 0xF0: length = 4; low = 0x90
        case 0xF1...0xF3: length = 4
        case 0xF4: length = 4; high = 0x8F
        default: throw .invalidUTF8
        }
        let second = peek(1)
        guard second >= low && second <= high else { throw .invalidUTF8 }
        for i in 2..<length where peek(i) & 0xC0 != 0x80 { throw .invalidUTF8 }
        p += length
    }

    /// The string's text: the input bytes when it has no escapes, otherwise decoded into the
    /// scratch buffer (kept there for the rest of the scan when `keep`).
    mutating func decoded(_ raw: RawString, keep: Bool) -> UnsafeRawBufferPointer {
        guard raw.hasEscapes else { return UnsafeRawBufferPointer(start: raw.start, count: raw.count) }
        let out = scratch + scratchUsed
        let count = decodeJSONStringContent(UnsafeBufferPointer(start: raw.start, count: raw.count), into: out)
        if keep { scratchUsed += count }
        return UnsafeRawBufferPointer(start: out, count: count)
    }

    // MARK: Numbers and literals

    /// Moves past a number; returns whether it is an integer (no fraction, no exponent).
    @discardableResult
    mutating func scanNumber() throws(InvalidReason) -> Bool {
        var isInteger = true
        if peek() == UInt8(ascii: "-") { p += 1 }
        if peek() == UInt8(ascii: "0") {
            p += 1
        } else if isDigit(peek()) {
            while isDigit(peek()) { p += 1 }
        } else {
            throw .invalidJSON
        }
        if peek() == UInt8(ascii: ".") {
            isInteger = false
            p += 1
            guard isDigit(peek()) else { throw .invalidJSON }
            while isDigit(peek()) { p += 1 }
        }
        if peek() | 0x20 == UInt8(ascii: "e") {
            isInteger = false
            p += 1
            if peek() == UInt8(ascii: "+") || peek() == UInt8(ascii: "-") { p += 1 }
            guard isDigit(peek()) else { throw .invalidJSON }
            while isDigit(peek()) { p += 1 }
        }
        return isInteger
    }

    mutating func expectLiteral(_ literal: StaticString) throws(InvalidReason) {
        let count = literal.utf8CodeUnitCount
        guard end - p >= count else { throw .invalidJSON }
        for i in 0..<count where p[i] != literal.utf8Start[i] { throw .invalidJSON }
        p += count
    }
}

/// Whether any of 8 string bytes is a quote, a backslash, a control character or non-ASCII
/// (SWAR: no false negatives; a false positive only sends the scan to the byte-wise path).
@inline(__always) func mayNeedAttention(_ word: UInt64) -> Bool {
    let ones: UInt64 = 0x0101_0101_0101_0101
    let high: UInt64 = 0x8080_8080_8080_8080
    let quote = word ^ (ones &* 0x22)
    let backslash = word ^ (ones &* 0x5C)
    let hasQuote = (quote &- ones) & ~quote
    let hasBackslash = (backslash &- ones) & ~backslash
    let hasControl = (word &- ones &* 0x20) & ~word
    return (hasQuote | hasBackslash | hasControl | word) & high != 0
}

/// Emails are listed ASCII-lowercased (consent-rules section 7); the lowered copy is a
/// temporary (stack) allocation.
func isListedEmail(_ email: UnsafeRawBufferPointer, in list: SuppressionSet) -> Bool {
    withUnsafeTemporaryAllocation(byteCount: email.count, alignment: 1) { lower in
        for (i, byte) in email.enumerated() { lower[i] = asciiLowercase(byte) }
        return list.contains(UnsafeRawBufferPointer(lower))
    }
}

@inline(__always) func isDigit(_ byte: UInt8) -> Bool { byte &- UInt8(ascii: "0") < 10 }

@inline(__always) func hexValue(_ byte: UInt8) -> UInt32? {
    switch byte {
    case UInt8(ascii: "0")...UInt8(ascii: "9"): UInt32(byte - UInt8(ascii: "0"))
    case UInt8(ascii: "a")...UInt8(ascii: "f"): UInt32(byte - UInt8(ascii: "a") + 10)
    case UInt8(ascii: "A")...UInt8(ascii: "F"): UInt32(byte - UInt8(ascii: "A") + 10)
    default: nil
    }
}

/// Decodes the content of a validated JSON string (between the quotes) into `out`, which must
/// hold `raw.count` bytes (decoding never grows the text). Returns the decoded length.
func decodeJSONStringContent(_ raw: UnsafeBufferPointer<UInt8>, into out: UnsafeMutablePointer<UInt8>) -> Int {
    var i = 0
    var n = 0
    @inline(__always) func hex4(_ at: Int) -> UInt32 {
        var value: UInt32 = 0
        for k in at..<at + 4 { value = value << 4 | hexValue(raw[k])! }
        return value
    }
    while i < raw.count {
        let byte = raw[i]
        guard byte == UInt8(ascii: "\\") else {
            out[n] = byte
            n += 1
            i += 1
            continue
        }
        let escape = raw[i + 1]
        i += 2
        var scalar: UInt32
        switch escape {
        case UInt8(ascii: "b"): scalar = 0x08
        case UInt8(ascii: "f"): scalar = 0x0C
        case UInt8(ascii: "n"): scalar = 0x0A
        case UInt8(ascii: "r"): scalar = 0x0D
        case UInt8(ascii: "t"): scalar = 0x09
        case UInt8(ascii: "u"):
            scalar = hex4(i)
            i += 4
            if scalar & 0xFC00 == 0xD800 {
                let low = hex4(i + 2)
                i += 6
                scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
            }
        default: scalar = UInt32(escape)
        }
        switch scalar {
        case 0..<0x80:
            out[n] = UInt8(scalar)
            n += 1
        case 0x80..<0x800:
            out[n] = UInt8(0xC0 | scalar >> 6)
            out[n + 1] = UInt8(0x80 | scalar & 0x3F)
            n += 2
        case 0x800..<0x10000:
            out[n] = UInt8(0xE0 | scalar >> 12)
            out[n + 1] = UInt8(0x80 | (scalar >> 6) & 0x3F)
            out[n + 2] = UInt8(0x80 | scalar & 0x3F)
            n += 3
        default:
            out[n] = UInt8(0xF0 | scalar >> 18)
            out[n + 1] = UInt8(0x80 | (scalar >> 12) & 0x3F)
            out[n + 2] = UInt8(0x80 | (scalar >> 6) & 0x3F)
            out[n + 3] = UInt8(0x80 | scalar & 0x3F)
            n += 4
        }
    }
    return n
}
