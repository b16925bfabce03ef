import ConsentEngine
import Testing

/// Issue 9, defect 5: whenever an invalid event's identity can be read (the value is a
/// well-formed object and a top-level userId, anonymousId or email, any occurrence, is listed
/// for the configured identifiers), it is dropped as suppressed instead of dead-lettered.
@Suite struct SuppressedInvalidTests {
    let policyAll: CompiledPolicy = {
        var policy = standardPolicy
        policy.suppressionIdentifiers = [.userId, .anonymousId, .email]
        return compile(policy)
    }()
    let userOnly = compile(standardPolicy)

    func suppressions(_ identifiers: [SuppressionIdentifier]) -> Suppressions {
        var builder = Suppressions.Builder(identifiers: identifiers)
        for id in ["gone", "anon-9", "gone@example.com", "42"] { builder.insert(subject: id) }
        return builder.build()
    }

    @Test func aSuppressedSubjectsInvalidEventIsDroppedAsSuppressed() {
        let listed = suppressions([.userId, .anonymousId, .email])
        let cases: [(String, InvalidReason)] = [
            (#"{"type":"purchase","userId":"gone"}"#, .unknownType),
            (#"{"userId":"gone","messageId":"m"}"#, .missingType),
            (#"{"type":"track","userId":"ok","userId":"gone"}"#, .duplicateKey),
            (#"{"type":"track","userId":"gone","userId":"ok"}"#, .duplicateKey),
            (#"{"type":"track","userId":"g\u006fne","userId":"ok"}"#, .duplicateKey),
            (#"{"type":"track","anonymousId":"anon-9","context":null}"#, .contextNotObject),
            (#"{"type":"track","anonymousId":"a","anonymousId":"anon-9"}"#, .duplicateKey),
            (#"{"type":"track","userId":"u","traits":{"email":"x@y.io"},"traits":{"email":"GONE@example.com"}}"#, .duplicateKey),
            (#"{"type":"track","userId":"u","context":{"traits":{"email":"a@b.io","email":"Gone@Example.com"}}}"#, .duplicateKey),
            (#"{"type":"track","userId":"u","properties":{"email":"gone@example.com"},"integrations":[]}"#, .integrationsNotObject),
            (#"{"type":"track","userId":42.0}"#, .missingIdentity),
            (#"{"type":"track","userId":4.2e1,"userId":"x"}"#, .duplicateKey),
            (#"{"type":"identify","userId":"gone","context":{"messaging_subscriptions":{"key":"x"}}}"#, .invalidSubscriptions),
            (#"{"type":"track","event":"Segment Consent Preference Updated","userId":"gone"}"#, .consentChangeWithoutPreferences),
            (#"{"type":"track","userId":"gone","context":{"consent":{"categoryPreferences":{"Analytics":"yes"}}}}"#, .preferenceNotBoolean),
        ]
        for (json, reason) in cases {
            #expect(decide(json, policy: policyAll, suppressions: listed) == .suppressedInvalid(reason), "\(json)")
            // Nobody listed: the same event is dead-lettered.
            #expect(decide(json, policy: policyAll) == .invalid(reason), "\(json)")
        }
    }

    @Test func anUnreadableOrUnlistedIdentityIsStillDeadLettered() {
        let listed = suppressions([.userId, .anonymousId, .email])
        let deep = #"{"type":"track","userId":"gone","x":"# + String(repeating: "[", count: 70) + String(repeating: "]", count: 70) + "}"
        let cases: [(String, InvalidReason)] = [
            (#"{"type":"track","userId":"gone","#, .invalidJSON),  // truncated
            (#"{"type":"track","userId":"gone"} x"#, .invalidJSON),  // trailing garbage
            ("\u{FEFF}" + #"{"type":"track","userId":"gone"}"#, .invalidJSON),  // byte-order mark
            (#"[{"type":"track","userId":"gone"}]"#, .notAnObject),
            (#"{"type":"purchase","userId":"gone","x":"\ud800"}"#, .invalidUTF8),  // lone surrogate
            (deep, .tooDeep),
            (#"{"type":"purchase","properties":{"userId":"gone"},"anonymousId":"a"}"#, .unknownType),  // not top-level
            (#"{"type":"purchase","userId":"gone2"}"#, .unknownType),
            (#"{"type":"purchase","userId":43}"#, .unknownType),
            (#"{"type":"purchase","userId":"u","properties":{"user":{"email":"gone@example.com"}}}"#, .unknownType),
        ]
        for (json, reason) in cases {
            #expect(decide(json, policy: policyAll, suppressions: listed) == .invalid(reason), "\(json)")
        }
    }

    @Test func onlyTheConfiguredIdentifiersCount() {
        let listed = suppressions([.userId])
        #expect(decide(#"{"type":"purchase","userId":"gone"}"#, policy: userOnly, suppressions: listed) == .suppressedInvalid(.unknownType))
        #expect(decide(#"{"type":"purchase","anonymousId":"anon-9"}"#, policy: userOnly, suppressions: listed) == .invalid(.unknownType))
        #expect(decide(#"{"type":"purchase","userId":"u","traits":{"email":"gone@example.com"}}"#, policy: userOnly, suppressions: listed)
            == .invalid(.unknownType))
    }

    @Test func aSuppressedSubjectsInvalidSubscriptionChangeIsNotApplied() {
        let listed = suppressions([.userId])
        var store = SubscriptionStore()
        let event = #"{"type":"identify","userId":"gone","context":{"messaging_subscriptions":[{"key":"a@x.io","type":"EMAIL","status":"SUBSCRIBED"},{"key":"b"}]}}"#
        #expect(decide(event, policy: userOnly, suppressions: listed, subscriptions: &store) == .suppressedInvalid(.invalidSubscriptions))
        #expect(store.count == 0)
    }
}
