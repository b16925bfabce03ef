import ConsentEngine
import FuzzSupport

// libFuzzer target: the two subscription parsers.
// - The input as `context.messaging_subscriptions` of an identify event, decided with the
//   event invariants (`EventChecker`); when it is accepted, every update it carries is what
//   the store then answers for its (address, channel, group), the last update winning, and
//   survives the subscription topic's record form.
// - The input as a subscription topic record (key, a NUL byte, value): a record that parses
//   gives back the same record from its own key and value.

/// libFuzzer calls the target from one thread, one input at a time.
nonisolated(unsafe) private let checker = EventChecker()
private let prefix = Array(#"{"type":"identify","userId":"u-1","traits":{"email":"P1@Example.com","phone":"+15550001"},"context":{"messaging_subscriptions":"#.utf8)
private let suffix = Array("}}".utf8)


private func checkEvent(_ input: UnsafeRawBufferPointer) {
    // One line: a newline in the value would make a second event.
    let value = input.prefix { $0 != 0x0A }
    let event = prefix + value + suffix
    let outcomes = event.withUnsafeBytes { checker.check($0) }
    for outcome in outcomes.map({ $0[0] }) {
        guard case .routed(let decision) = outcome else { continue }
        var store = SubscriptionStore()
        store.apply(decision.subscriptionUpdates)
        for (index, update) in decision.subscriptionUpdates.enumerated() {
            let last = decision.subscriptionUpdates.last { sameKey($0, update) }!
            let stored = store.status(address: update.address, channel: update.channel, group: update.group)
            invariant(stored == last.status, "update \(index) \(update) reads back as \(String(describing: stored)) for \(quoted(value))")
            let record = SubscriptionRecord(update: update, sourceOffset: Int64(index))
            let parsed = record.key.withUnsafeBytes { key in record.value.withUnsafeBytes { SubscriptionRecord(key: key, value: $0) } }
            invariant(parsed == record, "update \(update) does not survive its record form: \(String(describing: parsed))")
        }
    }
}

private func checkRecord(_ input: UnsafeRawBufferPointer) {
    let separator = input.firstIndex(of: 0) ?? input.count
    let key = UnsafeRawBufferPointer(rebasing: input[..<separator])
    let value = UnsafeRawBufferPointer(rebasing: input[min(separator + 1, input.count)...])
    guard let record = SubscriptionRecord(key: key, value: value) else { return }
    let again = record.key.withUnsafeBytes { key in record.value.withUnsafeBytes { SubscriptionRecord(key: key, value: $0) } }
    invariant(again == record, "record \(record) from \(quoted(input)) does not survive its own key and value: \(String(describing: again))")
}

/// Byte equality, as the store compares: Swift's `==` on strings treats canonically equivalent
/// ones (precomposed or not) as equal.
private func sameKey(_ a: SubscriptionUpdate, _ b: SubscriptionUpdate) -> Bool {
    a.address.utf8.elementsEqual(b.address.utf8) && a.channel == b.channel
        && (a.group?.utf8).map { b.group?.utf8.elementsEqual($0) == true } ?? (b.group == nil)
}

runLibFuzzer { data, size in
    let input = UnsafeRawBufferPointer(start: data, count: size)
    checkEvent(input)
    checkRecord(input)
    return 0
}
