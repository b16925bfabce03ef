import ConsentEngine
import Testing

/// consent-rules.md section 3, one rule at a time, against `standardPolicy`.
@Suite struct RuleTests {
    let policy = compile(standardPolicy)
    let everyone = ["ads", "amp", "anyd", "archive", "cafe", "fb", "s3", "strict"]

    func event(_ extra: String = "", type: String = "track", name: String = "Order Completed", user: String = "u-1") -> String {
        #"{"type":"\#(type)","event":"\#(name)","messageId":"m-1","userId":"\#(user)"\#(extra)}"#
    }

    let allGranted = #","context":{"consent":{"categoryPreferences":{"Advertising":true,"Analytics":true,"Functional":true,"DataSharing":true,"Café":true}}}"#

    @Test func missingConsentIsNotEnforcedExceptForDeny() {
        for extra in ["", #","context":{}"#, #","context":{"consent":{}}"#, #","context":{"consent":{"other":1}}"#] {
            #expect(decide(event(extra), policy: policy) == routed(everyone.filter { $0 != "strict" }, ["strict": .consentMissing]), "\(extra)")
        }
    }

    @Test func emptyPreferencesBlockEveryMappedDestination() {
        let result = decide(event(#","context":{"consent":{"categoryPreferences":{}}}"#), policy: policy)
        #expect(result == routed(["archive", "s3"], ["ads": .consent, "fb": .consent, "amp": .consent, "anyd": .consent, "strict": .consent, "cafe": .consent]))
    }

    @Test func matchAllNeedsEveryCategoryAndMatchAnyOne() {
        let prefs = #","context":{"consent":{"categoryPreferences":{"Advertising":true,"DataSharing":false,"Functional":true}}}"#
        #expect(decide(event(prefs), policy: policy) == routed(["ads", "anyd", "archive", "s3", "strict"], ["fb": .consent, "amp": .consent, "cafe": .consent]))
    }

    @Test func onlyLiteralTrueGrantsAndIdsAreCaseSensitive() {
        let prefs = #","context":{"consent":{"categoryPreferences":{"advertising":true,"Analytics":true,"Marketing":true}}}"#
        #expect(decide(event(prefs), policy: policy) == routed(["amp", "anyd", "archive", "s3"], ["ads": .consent, "fb": .consent, "strict": .consent, "cafe": .consent]))
    }

    @Test func escapedAndNonASCIICategoryIdsEqualTheirDecodedForm() {
        for key in [#"Caf\u00e9"#, "Café", #"Caf\u00E9"#, #"\u0043af\u00e9"#] {
            let prefs = #","context":{"consent":{"categoryPreferences":{"\#(key)":true}}}"#
            let result = decide(event(prefs), policy: policy)
            guard case .routed(let routed) = result else {
                Issue.record("\(key): \(result)")
                continue
            }
            #expect(routed.deliver.contains("cafe"), "\(key)")
        }
        // A decomposed é (e + U+0301) is a different id: compared as bytes, not normalized.
        let decomposed = #","context":{"consent":{"categoryPreferences":{"Cafe\u0301":true}}}"#
        guard case .routed(let routed) = decide(event(decomposed), policy: policy) else {
            Issue.record("decomposed form not routed")
            return
        }
        #expect(routed.drop["cafe"] == .consent)
    }

    @Test func consentDecisionRecordsUngrantedCategories() throws {
        let decider = Decider(policy: policy)
        let json = event(#","context":{"consent":{"categoryPreferences":{"Advertising":true}}}"#)
        let outcome = Array(json.utf8).withUnsafeBytes { decider.decide($0, suppressions: .empty, subscriptions: SubscriptionStore()) }
        guard case .routed(let decision) = outcome else {
            Issue.record("not routed: \(outcome)")
            return
        }
        let fb = try #require(policy.destinationIndex(id: "fb"))
        #expect(decision.dropReason(forDestination: fb) == .consent)
        #expect(policy.categoryNames(decision.ungrantedCategories(forDestination: fb, in: policy)) == ["DataSharing"])
        #expect(policy.categoryNames(decision.grantedCategories) == ["Advertising"])
    }

    @Test func consentChangeGoesEverywhereButStillHonoursIntegrations() {
        let prefs = #","context":{"gpc":true,"consent":{"categoryPreferences":{"Advertising":false}}}"#
        for name in ["Segment Consent Preference Updated", "Segment Consent Preference"] {
            #expect(decide(event(prefs, name: name), policy: policy) == routed(everyone))
        }
        let disabled = prefs + #","integrations":{"Google Ads":false}"#
        #expect(decide(event(disabled, name: "Segment Consent Preference Updated"), policy: policy)
            == routed(everyone.filter { $0 != "ads" }, ["ads": .integrations]))
        // Only a track is a consent change.
        #expect(decide(event(prefs, type: "page", name: "Segment Consent Preference Updated"), policy: policy)
            != routed(everyone))
    }

    @Test func gpcDropsSaleDestinationsAfterConsent() {
        #expect(decide(event(#","context":{"gpc":true,"consent":{"categoryPreferences":{"Advertising":true,"Analytics":true,"Functional":true,"DataSharing":true,"Café":true}}}"#), policy: policy)
            == routed(everyone.filter { $0 != "fb" }, ["fb": .gpc]))
        // Consent is checked first, so a refused sale destination is dropped for consent.
        #expect(decide(event(#","context":{"gpc":true,"consent":{"categoryPreferences":{}}}"#), policy: policy)
            == routed(["archive", "s3"], ["ads": .consent, "fb": .consent, "amp": .consent, "anyd": .consent, "strict": .consent, "cafe": .consent]))
        // Only the literal true counts.
        #expect(decide(event(#","context":{"gpc":"true"}"#), policy: policy) == routed(everyone.filter { $0 != "strict" }, ["strict": .consentMissing]))
    }

    @Test func integrationsFalseByIntegrationName() {
        #expect(decide(event(allGranted + #","integrations":{"Google Ads":false,"ads":false,"amp":true}"#), policy: policy)
            == routed(everyone.filter { $0 != "ads" }, ["ads": .integrations]))
    }

    @Test func integrationsAllFalseKeepsOnlyExplicitTrue() {
        #expect(decide(event(allGranted + #","integrations":{"All":false,"amp":true,"s3":{"bucket":"x"}}"#), policy: policy)
            == routed(["amp"], Dictionary(uniqueKeysWithValues: everyone.filter { $0 != "amp" }.map { ($0, DropReason.integrations) })))
        #expect(decide(event(allGranted + #","integrations":{"All":true,"amp":false}"#), policy: policy)
            == routed(everyone.filter { $0 != "amp" }, ["amp": .integrations]))
    }

    @Test func consentIsDecidedBeforeIntegrations() {
        #expect(decide(event(#","context":{"consent":{"categoryPreferences":{"Analytics":true}}},"integrations":{"Google Ads":true,"amp":false}"#), policy: policy)
            == routed(["anyd", "archive", "s3"], ["ads": .consent, "fb": .consent, "strict": .consent, "cafe": .consent, "amp": .integrations]))
    }

    @Test func suppressedSubjectDropsEverythingEvenAConsentChange() {
        var builder = Suppressions.Builder(identifiers: [.userId])
        builder.insert(subject: "gone")
        let suppressions = builder.build()
        let all = Dictionary(uniqueKeysWithValues: everyone.map { ($0, DropReason.suppressed) })
        #expect(decide(event(allGranted, user: "gone"), policy: policy, suppressions: suppressions) == routed([], all))
        #expect(decide(event(allGranted, name: "Segment Consent Preference Updated", user: "gone"), policy: policy, suppressions: suppressions) == routed([], all))
        #expect(decide(#"{"type":"track","userId":"go\u006ee"}"#, policy: policy, suppressions: suppressions) == routed([], all))
        #expect(decide(#"{"type":"track","userId":"gone2"}"#, policy: policy, suppressions: suppressions) != routed([], all))
    }

    @Test func suppressionChecksOnlyConfiguredIdentifiers() {
        var withAll = standardPolicy
        withAll.suppressionIdentifiers = [.userId, .anonymousId, .email]
        let policyAll = compile(withAll)
        var builder = Suppressions.Builder(identifiers: withAll.suppressionIdentifiers)
        builder.insert(subject: "anon-9")
        builder.insert(subject: "Gone@Example.com")
        builder.insert(subject: "42")
        let suppressions = builder.build()
        let allDropped = Dictionary(uniqueKeysWithValues: everyone.map { ($0, DropReason.suppressed) })
        let cases = [
            #"{"type":"page","anonymousId":"anon-9"}"#,
            #"{"type":"page","anonymousId":"a","traits":{"email":"gone@example.COM"}}"#,
            #"{"type":"page","anonymousId":"a","properties":{"email":"GONE@example.com"}}"#,
            #"{"type":"page","anonymousId":"a","context":{"traits":{"email":"gone@example.com"}}}"#,
            #"{"type":"page","anonymousId":"a","userId":42}"#,
        ]
        for json in cases {
            #expect(decide(json, policy: policyAll, suppressions: suppressions) == routed([], allDropped), "\(json)")
            // The default identifiers ([userId]) ignore these.
            let userOnly = Suppressions.Builder(identifiers: [.userId])
            #expect(decide(json, policy: policy, suppressions: userOnly.build()) != routed([], allDropped), "\(json)")
        }
        // A nested email is not a contact address.
        #expect(decide(#"{"type":"page","anonymousId":"a","properties":{"user":{"email":"gone@example.com"}}}"#, policy: policyAll, suppressions: suppressions)
            != routed([], allDropped))
    }

    @Test func allSixTypesRoute() {
        for type in EventType.allCases {
            let result = decide(#"{"type":"\#(type.rawValue)","anonymousId":"a","context":{"consent":{"categoryPreferences":{"Analytics":true}}}}"#, policy: policy)
            #expect(result == routed(["amp", "anyd", "archive", "s3"], ["ads": .consent, "fb": .consent, "strict": .consent, "cafe": .consent]), "\(type)")
        }
    }

    @Test func consentObjectInsidePropertiesIsNotTheConsentObject() {
        let result = decide(event(#","properties":{"context":{"consent":{"categoryPreferences":{}}},"consent":{"categoryPreferences":{}}}"#), policy: policy)
        #expect(result == routed(everyone.filter { $0 != "strict" }, ["strict": .consentMissing]))
    }
}

/// Section 3.6 and section 5: messaging channels and subscription state.
@Suite struct MessagingTests {
    let policy = compile(messagingPolicy)

    @Test func unknownAddressIsNotSubscribed() {
        #expect(decide(#"{"type":"track","userId":"u","context":{"traits":{"email":"a@x.io","phone":"+1"}}}"#, policy: policy)
            == routed(["web"], ["mail": .unsubscribed, "news": .unsubscribed, "sms": .unsubscribed, "wa": .unsubscribed]))
    }

    @Test func identifyUpdatesApplyToItselfAndLaterEvents() {
        var store = SubscriptionStore()
        let identify = #"{"type":"identify","userId":"u","traits":{"email":"A@x.io"},"context":{"messaging_subscriptions":[{"key":"a@X.io","type":"email","status":"Subscribed","groups":[{"name":"Newsletter","status":"subscribed"}]},{"key":"+1","type":"WhatsApp","status":"SUBSCRIBED"}]}}"#
        #expect(decide(identify, policy: policy, subscriptions: &store) == routed(["mail", "news", "web"], ["sms": .unsubscribed, "wa": .unsubscribed]))
        #expect(store.status(address: "a@x.io", channel: .email) == .subscribed)
        #expect(store.status(address: "a@x.io", channel: .email, group: "Newsletter") == .subscribed)
        #expect(store.status(address: "+1", channel: .whatsapp) == .subscribed)
        #expect(store.status(address: "+1", channel: .sms) == nil)
        #expect(decide(#"{"type":"track","userId":"u","properties":{"email":"a@x.io","phone":"+1"}}"#, policy: policy, subscriptions: &store)
            == routed(["mail", "news", "wa", "web"], ["sms": .unsubscribed]))
    }

    @Test func groupNeedsChannelSubscriptionToo() {
        var store = SubscriptionStore()
        store.apply(SubscriptionUpdate(address: "a@x.io", channel: .email, group: "Newsletter", status: .subscribed))
        #expect(decide(#"{"type":"track","userId":"u","traits":{"email":"a@x.io"}}"#, policy: policy, subscriptions: &store)
            == routed(["web"], ["mail": .unsubscribed, "news": .unsubscribed, "sms": .unsubscribed, "wa": .unsubscribed]))
        store.apply(SubscriptionUpdate(address: "a@x.io", channel: .email, status: .subscribed))
        store.apply(SubscriptionUpdate(address: "a@x.io", channel: .email, group: "Newsletter", status: .didNotSubscribe))
        #expect(decide(#"{"type":"track","userId":"u","traits":{"email":"a@x.io"}}"#, policy: policy, subscriptions: &store)
            == routed(["mail", "web"], ["news": .unsubscribed, "sms": .unsubscribed, "wa": .unsubscribed]))
    }

    @Test func everyCarriedAddressMustBeSubscribed() {
        var store = SubscriptionStore()
        store.apply(SubscriptionUpdate(address: "a@x.io", channel: .email, status: .subscribed))
        #expect(decide(#"{"type":"track","userId":"u","traits":{"email":"a@x.io"},"properties":{"email":"b@x.io"}}"#, policy: policy, subscriptions: &store)
            == routed(["web"], ["mail": .unsubscribed, "news": .unsubscribed, "sms": .unsubscribed, "wa": .unsubscribed]))
    }

    @Test func unsubscribeAndDidNotSubscribeDrop() {
        var store = SubscriptionStore()
        store.apply(SubscriptionUpdate(address: "+1", channel: .sms, status: .subscribed))
        let track = #"{"type":"track","userId":"u","properties":{"phone":"+1"}}"#
        #expect(decide(track, policy: policy, subscriptions: &store) == routed(["sms", "web"], ["mail": .unsubscribed, "news": .unsubscribed, "wa": .unsubscribed]))
        for status in ["UNSUBSCRIBED", "did_not_subscribe"] {
            var copy = store
            _ = decide(#"{"type":"identify","userId":"u","context":{"messaging_subscriptions":[{"key":"+1","type":"SMS","status":"\#(status)"}]}}"#, policy: policy, subscriptions: &copy)
            #expect(decide(track, policy: policy, subscriptions: &copy) == routed(["web"], ["mail": .unsubscribed, "news": .unsubscribed, "sms": .unsubscribed, "wa": .unsubscribed]))
        }
    }

    @Test func decideReturnsUpdatesWithoutApplyingThem() {
        let decider = Decider(policy: policy)
        let json = #"{"type":"identify","userId":"u","context":{"messaging_subscriptions":[{"key":"a@x.io","type":"EMAIL","status":"SUBSCRIBED","groups":[{"name":"Newsletter","status":"UNSUBSCRIBED"}]}]}}"#
        let store = SubscriptionStore()
        let outcome = Array(json.utf8).withUnsafeBytes { decider.decide($0, suppressions: .empty, subscriptions: store) }
        guard case .routed(let decision) = outcome else {
            Issue.record("not routed: \(outcome)")
            return
        }
        #expect(decision.subscriptionUpdates == [
            SubscriptionUpdate(address: "a@x.io", channel: .email, status: .subscribed),
            SubscriptionUpdate(address: "a@x.io", channel: .email, group: "Newsletter", status: .unsubscribed),
        ])
        #expect(store.count == 0)
    }

    @Test func subscriptionsOnlyCountOnIdentifyAndNotForSuppressedSubjects() {
        var store = SubscriptionStore()
        _ = decide(#"{"type":"track","userId":"u","context":{"messaging_subscriptions":[{"key":"a@x.io","type":"EMAIL","status":"SUBSCRIBED"}]}}"#, policy: policy, subscriptions: &store)
        #expect(store.count == 0)
        var builder = Suppressions.Builder(identifiers: [.userId])
        builder.insert(subject: "gone")
        _ = decide(#"{"type":"identify","userId":"gone","context":{"messaging_subscriptions":[{"key":"a@x.io","type":"EMAIL","status":"SUBSCRIBED"}]}}"#, policy: policy, suppressions: builder.build(), subscriptions: &store)
        #expect(store.count == 0)
    }

    @Test func malformedSubscriptionsMakeAnIdentifyInvalid() {
        let entries = [
            #"{"key":"a@x.io","type":"EMAIL"}"#,
            #"[{"key":"","type":"EMAIL","status":"SUBSCRIBED"}]"#,
            #"[{"key":"a@x.io","type":"FAX","status":"SUBSCRIBED"}]"#,
            #"[{"key":"a@x.io","type":"EMAIL","status":"MAYBE"}]"#,
            #"[{"key":"a@x.io","type":"EMAIL","groups":[{"name":"N"}]}]"#,
            #"[{"key":"a@x.io","type":"EMAIL","status":"SUBSCRIBED","status":"UNSUBSCRIBED"}]"#,
            #"[7]"#,
        ]
        for entry in entries {
            #expect(decide(#"{"type":"identify","userId":"u","context":{"messaging_subscriptions":\#(entry)}}"#, policy: policy) == .invalid(.invalidSubscriptions), "\(entry)")
        }
    }
}
