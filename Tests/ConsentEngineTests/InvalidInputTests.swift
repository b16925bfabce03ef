import ConsentEngine
import Testing

/// Every invalid-event class of consent-rules section 1 and its stable code.
@Suite struct InvalidInputTests {
    let policy = compile(standardPolicy)

    @Test(arguments: [
        (#"{"type":"track","userId":"u""#, InvalidReason.invalidJSON),
        (#"{"type":"track","userId":"u"} x"#, .invalidJSON),
        ("", .invalidJSON),
        ("   ", .invalidJSON),
        (#"[{"type":"track"}]"#, .notAnObject),
        (#""track""#, .notAnObject),
        ("null", .notAnObject),
        (#"{"userId":"u"}"#, .missingType),
        (#"{"type":"purchase","userId":"u"}"#, .unknownType),
        (#"{"type":"Track","userId":"u"}"#, .unknownType),
        (#"{"type":null,"userId":"u"}"#, .unknownType),
        (#"{"type":"track"}"#, .missingIdentity),
        (#"{"type":"track","userId":"","anonymousId":""}"#, .missingIdentity),
        (#"{"type":"track","userId":42}"#, .missingIdentity),
        (#"{"type":"track","userId":"u","userId":"v"}"#, .duplicateKey),
        (#"{"type":"track","userId":"u","context":{"consent":{"categoryPreferences":{"Advertising":true,"Advertising":false}}}}"#, .duplicateKey),
        (#"{"type":"track","userId":"u","integrations":{"Google Ads":true,"Google Ads":false}}"#, .duplicateKey),
        (#"{"type":"track","userId":"u","context":"x"}"#, .contextNotObject),
        (#"{"type":"track","userId":"u","context":{"consent":true}}"#, .consentNotObject),
        (#"{"type":"track","userId":"u","context":{"consent":{"categoryPreferences":["Advertising"]}}}"#, .preferencesNotObject),
        (#"{"type":"track","userId":"u","context":{"consent":{"categoryPreferences":null}}}"#, .preferencesNotObject),
        (#"{"type":"track","userId":"u","context":{"consent":{"categoryPreferences":{"Advertising":"true"}}}}"#, .preferenceNotBoolean),
        (#"{"type":"track","userId":"u","context":{"consent":{"categoryPreferences":{"Unknown":1}}}}"#, .preferenceNotBoolean),
        (#"{"type":"track","userId":"u","integrations":[]}"#, .integrationsNotObject),
        (#"{"type":"track","event":"Segment Consent Preference Updated","userId":"u"}"#, .consentChangeWithoutPreferences),
        (#"{"type":"track","event":"Segment Consent Preference","userId":"u","context":{"consent":{}}}"#, .consentChangeWithoutPreferences),
    ])
    func invalidEvent(json: String, reason: InvalidReason) {
        #expect(decide(json, policy: policy) == .invalid(reason), "\(json)")
    }

    @Test func duplicatesOutsideReadFieldsAreAllowed() {
        #expect(decide(#"{"type":"track","userId":"u","x":1,"x":2,"properties":{"a":1,"a":2},"context":{"consent":{"categoryPreferences":{"Unknown":true,"Unknown":false}}}}"#, policy: policy) != .invalid(.duplicateKey))
    }

    @Test func sizeLimitIsInclusive() {
        let limit = 200
        var limited = standardPolicy
        limited.limits.maxEventBytes = limit
        let policy = compile(limited)
        let prefix = #"{"type":"track","userId":"u","pad":""#
        let exact = prefix + String(repeating: "x", count: limit - prefix.utf8.count - 2) + #""}"#
        #expect(exact.utf8.count == limit)
        #expect(decide(exact, policy: policy) != .invalid(.tooLarge))
        let over = prefix + String(repeating: "x", count: limit - prefix.utf8.count - 1) + #""}"#
        #expect(decide(over, policy: policy) == .invalid(.tooLarge))
    }

    @Test func depthLimitCountsContainersFromTheTopLevelObject() {
        var limited = standardPolicy
        limited.limits.maxDepth = 5
        let policy = compile(limited)
        // The top-level object is depth 1, so four more levels fit.
        let atLimit = #"{"type":"track","userId":"u","p":[[{"a":[]}]]}"#
        let overLimit = #"{"type":"track","userId":"u","p":[[{"a":[[]]}]]}"#
        #expect(decide(atLimit, policy: policy) == routed(["ads", "amp", "anyd", "archive", "cafe", "fb", "s3"], ["strict": .consentMissing]))
        #expect(decide(overLimit, policy: policy) == .invalid(.tooDeep))
    }

    @Test func defaultDepthLimitIs64() {
        let nested = { (depth: Int) in
            #"{"type":"track","userId":"u","p":"# + String(repeating: "[", count: depth - 1) + String(repeating: "]", count: depth - 1) + "}"
        }
        #expect(decide(nested(64), policy: policy) != .invalid(.tooDeep))
        #expect(decide(nested(65), policy: policy) == .invalid(.tooDeep))
    }

    @Test func syntaxErrorsWinOverRuleErrors() {
        #expect(decide(#"{"type":"purchase","context":"x","#, policy: policy) == .invalid(.invalidJSON))
        #expect(decide(#"[1,"#, policy: policy) == .invalid(.invalidJSON))
    }

    @Test func codesAreStableSnakeCase() {
        #expect(InvalidReason.allCases.map(\.code) == [
            "invalid_json", "invalid_utf8", "too_large", "too_deep", "not_an_object", "missing_type", "unknown_type",
            "missing_identity", "duplicate_key", "context_not_object", "consent_not_object", "preferences_not_object",
            "preference_not_boolean", "integrations_not_object", "invalid_subscriptions", "consent_change_without_preferences",
            "signal_not_object", "signal_not_string", "signal_invalid",
        ])
        #expect(DropReason.allCases.map(\.code) == [
            "suppressed", "consent", "consent_missing", "tcf", "google_consent", "gpc", "us_privacy", "integrations", "unsubscribed",
        ])
    }
}
