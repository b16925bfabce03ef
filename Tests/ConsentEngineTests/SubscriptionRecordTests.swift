import ConsentEngine
import Testing

@Suite struct SubscriptionRecordTests {
    @Test(arguments: [
        SubscriptionUpdate(address: "Alice@Example.com", channel: .email, status: .subscribed),
        SubscriptionUpdate(address: "a@example.com", channel: .email, group: "Newsletter", status: .unsubscribed),
        SubscriptionUpdate(address: "+15550100", channel: .sms, group: "a/b 7/x", status: .didNotSubscribe),
        SubscriptionUpdate(address: "+15550100", channel: .whatsapp, group: "", status: .subscribed),
    ])
    func roundTrips(update: SubscriptionUpdate) {
        let record = SubscriptionRecord(update: update, sourceOffset: 1234)
        let parsed = record.key.withUnsafeBytes { key in
            record.value.withUnsafeBytes { SubscriptionRecord(key: key, value: $0) }
        }
        #expect(parsed == record)
    }

    @Test func distinctStatesHaveDistinctKeys() {
        let keys = Set([
            SubscriptionUpdate(address: "ab", channel: .email, group: "x", status: .subscribed).recordKey,
            SubscriptionUpdate(address: "xab", channel: .email, group: nil, status: .subscribed).recordKey,
            SubscriptionUpdate(address: "b", channel: .email, group: "xa", status: .subscribed).recordKey,
            SubscriptionUpdate(address: "ab", channel: .sms, group: "x", status: .subscribed).recordKey,
        ])
        #expect(keys.count == 4)
    }

    @Test(arguments: ["email", "email/", "email/-/", "fax/-/a", "email/9/short", "email/x/a"])
    func rejectsMalformedKeys(key: String) {
        #expect(parse(key: key, value: "SUBSCRIBED 1") == nil)
    }

    @Test(arguments: ["MAYBE 1", "SUBSCRIBED", "SUBSCRIBED x", "SUBSCRIBED -1", ""])
    func rejectsMalformedValues(value: String) {
        #expect(parse(key: "email/-/a@b", value: value) == nil)
    }

    private func parse(key: String, value: String) -> SubscriptionRecord? {
        Array(key.utf8).withUnsafeBytes { key in
            Array(value.utf8).withUnsafeBytes { SubscriptionRecord(key: key, value: $0) }
        }
    }
}
