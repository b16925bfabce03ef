import ConsentEngine
import Testing

/// RFC 8259 edge cases. Each value is wrapped as `{"type":"track","userId":"u","v":VALUE}` so
/// that an accepted value yields a routable event.
@Suite struct ScannerCorpusTests {
    let policy = compile(standardPolicy)

    func wrapped(_ value: [UInt8]) -> [UInt8] {
        Array(#"{"type":"track","userId":"u","v":"#.utf8) + value + [UInt8(ascii: "}")]
    }

    func verdict(_ value: [UInt8]) -> InvalidReason? {
        scan(wrapped(value), policy: policy).failureValue
    }

    @Test(arguments: [
        "0", "-0", "1", "-1", "10", "1e5", "1E5", "1e+5", "1e-5", "1.5E-3", "-0.0", "0.5", "123456789012345678901234567890",
        "1e400", "true", "false", "null", #""""#, #""a b""#, "[]", "{}", "[1,[2,{}]]", #"{"a":{"b":[null]}}"#,
        " 1 ", "\t\n\r 1\r\n", #""\"\\\/\b\f\n\r\t""#, #""\u0000""#, #""\u00e9\u4e2d""#, #""\uD83D\uDE00""#, #""\ud83d\ude00""#,
        "\"\u{7F}\"", "\"é中😀\"", #""\uDBFF\uDFFF""#,
    ])
    func accepts(_ value: String) {
        #expect(verdict(Array(value.utf8)) == nil, "\(value)")
    }

    @Test(arguments: [
        "01", "-01", "1.", ".5", "+1", "-", "1e", "1e+", "1.e5", "0x10", "NaN", "Infinity", "-Infinity", "1 2",
        "tru", "True", "nul", "[1,]", "[,1]", #"{"a":1,}"#, #"{"a" 1}"#, #"{a:1}"#, "{'a':1}", "'a'", "[1", "]",
        #""\x""#, #""\u12""#, #""\u12G4""#, #""\U0041""#, "\"a\tb\"", "\"a\nb\"", "\"\u{1F}\"", #""abc"#, "[1]]",
    ])
    func rejectsGrammar(_ value: String) {
        #expect(verdict(Array(value.utf8)) == .invalidJSON, "\(value)")
    }

    @Test(arguments: [
        [0x22, 0xC0, 0x80, 0x22],              // overlong NUL
        [0x22, 0xC1, 0xBF, 0x22],              // overlong
        [0x22, 0xE0, 0x80, 0xAF, 0x22],        // overlong '/'
        [0x22, 0xF0, 0x80, 0x80, 0xAF, 0x22],  // overlong 4-byte
        [0x22, 0xED, 0xA0, 0x80, 0x22],        // UTF-8-encoded high surrogate
        [0x22, 0xED, 0xBF, 0xBF, 0x22],        // UTF-8-encoded low surrogate
        [0x22, 0xF4, 0x90, 0x80, 0x80, 0x22],  // above U+10FFFF
        [0x22, 0xF5, 0x80, 0x80, 0x80, 0x22],  // invalid lead
        [0x22, 0x80, 0x22],                    // lone continuation
        [0x22, 0xC3, 0x22],                    // truncated sequence
        [0x22, 0xE2, 0x82, 0x22],              // truncated sequence
        [0x22, 0xFF, 0x22],
    ] as [[UInt8]])
    func rejectsMalformedUTF8(_ value: [UInt8]) {
        #expect(verdict(value) == .invalidUTF8, "\(value)")
    }

    @Test(arguments: [#""\uD800""#, #""\uDC00""#, #""\uD800\u0041""#, #""\uD800\uD800""#, #""\uDE00\uD83D""#, #""\uD800x""#])
    func rejectsLoneSurrogateEscapes(_ value: String) {
        #expect(verdict(Array(value.utf8)) == .invalidUTF8, "\(value)")
    }

    @Test func rejectsByteOrderMarkAndTrailingData() {
        let event = Array(#"{"type":"track","userId":"u"}"#.utf8)
        #expect(scan([0xEF, 0xBB, 0xBF] + event, policy: policy).failureValue == .invalidJSON)
        #expect(scan(event + [0x00], policy: policy).failureValue == .invalidJSON)
        #expect(scan(event + Array("{}".utf8), policy: policy).failureValue == .invalidJSON)
        #expect(scan(event + Array(" \n\t\r".utf8), policy: policy).successValue != nil)
        #expect(scan(Array(" \n".utf8) + event, policy: policy).successValue != nil)
        #expect(scan(event + [0x0C], policy: policy).failureValue == .invalidJSON)  // form feed is not JSON whitespace
        #expect(scan(event + [0xC2, 0xA0], policy: policy).failureValue == .invalidJSON)
    }

    @Test func rejectsNonASCIIOutsideStrings() {
        #expect(verdict(Array("é".utf8)) == .invalidJSON)
    }

    @Test func decodesEscapesInExtractedFields() throws {
        let json = #"{"type":"tr\u0061ck","messageId":"m-\"1\"\n\u00e9\uD83D\uDE00","userId":"a\/b\\c","anonymousId":"x","event":"Segment Consent Preference \u0055pdated","context":{"consent":{"categoryPreferences":{"Advertising":true}}}}"#
        let event = try #require(scan(json, policy: policy).successValue)
        #expect(event.type == .track)
        #expect(event.messageId == "m-\"1\"\n\u{E9}\u{1F600}")
        #expect(event.userId == "a/b\\c")
        #expect(event.anonymousId == "x")
        #expect(event.isConsentChange)
        #expect(event.granted == ["Advertising"])
    }

    @Test func escapedKeysMatchTheirDecodedForm() throws {
        let json = #"{"\u0074ype":"page","user\u0049d":"u","\u0063ontext":{"cons\u0065nt":{"categoryPreferences":{"Analytics":true}},"gp\u0063":true},"traits":{"em\u0061il":"a@b"}}"#
        let event = try #require(scan(json, policy: policy).successValue)
        #expect(event.type == .page)
        #expect(event.userId == "u")
        #expect(event.granted == ["Analytics"])
        #expect(event.gpc)
        #expect(event.emails == [nil, "a@b", nil])
        // An escaped spelling of a key already present is a duplicate.
        #expect(scan(#"{"type":"page","userId":"u","user\u0049d":"v"}"#, policy: policy).failureValue == .duplicateKey)
    }

    @Test func extractsOnlyTopLevelFields() throws {
        let json = #"{"type":"track","userId":"u","properties":{"userId":"x","email":"p@x","type":"alias","context":{"gpc":true},"phone":"+1"},"context":{"traits":{"email":"c@x"},"page":{"userId":"y"}},"traits":{"phone":"+2"},"integrations":{"amp":{"enabled":true},"Google Ads":false}}"#
        let event = try #require(scan(json, policy: policy).successValue)
        #expect(event.type == .track)
        #expect(event.userId == "u")
        #expect(event.emails == ["c@x", nil, "p@x"])
        #expect(event.phones == [nil, "+2", "+1"])
        #expect(!event.gpc)
        #expect(event.integrationsDisabled == ["ads"])
        #expect(event.integrationsEnabled.isEmpty)
    }

    @Test func numericUserIdIsKeptForSuppressionOnly() throws {
        let event = try #require(scan(#"{"type":"track","userId":-4.5e1,"anonymousId":"a"}"#, policy: policy).successValue)
        #expect(event.userId == nil)
        #expect(event.numericUserId == "-45")
    }

    @Test func aScannerIsReusableAcrossEvents() {
        let scanner = EventScanner(policy: policy)
        for i in 0..<100 {
            let json = i % 3 == 0 ? #"{"type":"track","userId":"caf\u00e9-\#(i)"}"# : #"{"type":"#
            let expected: String? = i % 3 == 0 ? "café-\(i)" : nil
            let got = Array(json.utf8).withUnsafeBytes { bytes in
                (try? scanner.scan(bytes).get())?.userId?.string
            }
            #expect(got == expected)
        }
    }
}
