/// One generated event: its Kafka key and JSON value (unique per event).
package struct GeneratedEvent: Sendable {
    package let key: String
    package let value: String

    package init(key: String, value: String) {
        self.key = key
        self.value = value
    }
}

/// Deterministic Segment-spec events covering every routing path: invalid events, suppressed
/// users, no consent, consent changes, GPC, integrations, and identify events that change
/// email subscriptions (keyed by user, so per-partition order decides them like `check`).
package struct EventGenerator {
    private var random: SeededGenerator

    package init(seed: UInt64) { random = SeededGenerator(seed: seed) }

    package mutating func events(_ count: Int) -> [GeneratedEvent] {
        (0..<count).map { event($0) }
    }

    private mutating func chance(_ percent: UInt64) -> Bool { random.next() % 100 < percent }

    private mutating func event(_ index: Int) -> GeneratedEvent {
        let user = "user-\(random.next() % 500)"
        let id = "m-\(index)"
        let email = "\(user)@example.com"
        if chance(1) { return GeneratedEvent(key: user, value: #"{"type":"track","messageId":"\#(id)",broken"#) }
        if chance(1) { return GeneratedEvent(key: user, value: #"{"event":"No Type","messageId":"\#(id)","userId":"\#(user)"}"#) }
        if chance(1) {
            return GeneratedEvent(key: user, value: #"{"type":"track","messageId":"\#(id)","userId":"\#(user)","context":{"consent":{"categoryPreferences":{"Analytics":"yes"}}}}"#)
        }
        var context: [String] = [#""traits":{"email":"\#(email)"}"#]
        if !chance(5) {
            let categories = ["Advertising", "Analytics", "Functional", "DataSharing"].map { "\"\($0)\":\(chance(70))" }
            context.append(#""consent":{"categoryPreferences":{\#(categories.joined(separator: ","))}}"#)
        }
        if chance(3) { context.append(#""gpc":true"#) }
        let integrations = chance(3) ? #","integrations":{"All":false,"Amplitude":true}"# : (chance(3) ? #","integrations":{"Google Ads":false}"# : "")
        let body: String
        switch random.next() % 20 {
        case 0:
            body = #""type":"track","event":"Segment Consent Preference Updated""#
        case 1, 2, 3:
            let status = ["SUBSCRIBED", "subscribed", "UNSUBSCRIBED", "DID_NOT_SUBSCRIBE"][Int(random.next() % 4)]
            context.append(#""messaging_subscriptions":[{"key":"\#(email)","type":"EMAIL","status":"\#(status)"}]"#)
            body = #""type":"identify","traits":{"email":"\#(email)","plan":"pro"}"#
        case 4, 5:
            body = #""type":"page","name":"Pricing","properties":{"path":"/pricing"}"#
        default:
            body = #""type":"track","event":"Order Completed","properties":{"revenue":\#(random.next() % 500),"currency":"EUR"}"#
        }
        let value = #"{\#(body),"messageId":"\#(id)","userId":"\#(user)","anonymousId":"anon-\#(index)","context":{\#(context.joined(separator: ","))}\#(integrations)}"#
        return GeneratedEvent(key: user, value: value)
    }
}
