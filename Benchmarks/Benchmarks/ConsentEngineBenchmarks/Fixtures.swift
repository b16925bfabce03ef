import ConsentEngine
import Foundation

enum Fixtures {
    /// ../shared/bench/worker.yaml's `destinations:` (the benchmark package cannot use
    /// ConsentConfig, which the root package does not export as a product), with
    /// config.md's defaults: match all, missingConsent allow, suppression by userId.
    static let workerDestinations: [Destination] = [
        Destination(id: "google-ads", categories: ["Advertising"]),
        Destination(id: "facebook-capi", categories: ["Advertising", "DataSharing"]),
        Destination(id: "amplitude", categories: ["Analytics"]),
        Destination(id: "intercom", categories: ["Functional"]),
        Destination(id: "s3-archive"),
    ]

    static func fiveDestinationPolicy() -> CompiledPolicy {
        try! CompiledPolicy(Policy(destinations: workerDestinations))
    }

    /// worker.yaml plus an email channel destination with a subscription group: every event
    /// that reaches rule 6 with an address looks up (address, email) and (address, email, group).
    static func sixDestinationPolicy() -> CompiledPolicy {
        try! CompiledPolicy(Policy(destinations: workerDestinations + [
            Destination(id: "braze-email", channel: .email, subscriptionGroup: "Newsletter"),
        ]))
    }

    /// 100,000 addresses user-0@example.com ... user-99999@example.com (every identify of the
    /// corpus has one): email status 70% SUBSCRIBED, 20% UNSUBSCRIBED, 10% DID_NOT_SUBSCRIBE;
    /// Newsletter group SUBSCRIBED for even i, UNSUBSCRIBED for odd. 200,000 states.
    static func subscriptionStore(addresses: Int = 100_000) -> SubscriptionStore {
        var store = SubscriptionStore()
        for i in 0..<addresses {
            let address = "user-\(i)@example.com"
            let status: SubscriptionStatus = i % 10 < 7 ? .subscribed : i % 10 < 9 ? .unsubscribed : .didNotSubscribe
            store.apply(SubscriptionUpdate(address: address, channel: .email, status: status))
            store.apply(SubscriptionUpdate(address: address, channel: .email, group: "Newsletter", status: i % 2 == 0 ? .subscribed : .unsubscribed))
        }
        return store
    }

    /// `count` suppressed userIds: user-0 ... user-999 (1% of the corpus's users, so about 1% of
    /// events are suppressed) and the rest user-1000000000... (never in the corpus).
    static func suppressions(userIds count: Int = 1_000_000) -> Suppressions {
        var builder = SuppressionSet.Builder(minimumCapacity: count)
        let hits = min(1000, count)
        for i in 0..<hits { builder.insert("user-\(i)") }
        UserIdKeys.forEach(count - hits) { builder.insert($0) }
        return Suppressions(userIds: builder.build())
    }
}

/// Record keys as a suppression topic replay delivers them: bytes in a reused buffer
/// (`user-1000000000`, `user-1000000001`, ...), no String per record.
enum UserIdKeys {
    static func forEach(_ count: Int, _ body: (UnsafeRawBufferPointer) -> Void) {
        withUnsafeTemporaryAllocation(byteCount: 32, alignment: 8) { buffer in
            let prefix: [UInt8] = Array("user-".utf8)
            for (i, byte) in prefix.enumerated() { buffer[i] = byte }
            for i in 0..<count {
                var n = 1_000_000_000 + i
                var digits = 0
                var m = n
                repeat { digits += 1; m /= 10 } while m > 0
                var position = prefix.count + digits
                let length = position
                repeat {
                    position -= 1
                    buffer[position] = UInt8(ascii: "0") + UInt8(n % 10)
                    n /= 10
                } while n > 0
                body(UnsafeRawBufferPointer(rebasing: buffer[0..<length]))
            }
        }
    }
}

/// VmRSS / VmHWM of this process in MB (10^6 bytes), from /proc/self/status.
enum ProcStatus {
    static func megabytes(_ field: String) -> Int {
        guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return -1 }
        for line in text.split(separator: "\n") where line.hasPrefix(field + ":") {
            let kilobytes = Int(line.dropFirst(field.count + 1).filter(\.isNumber)) ?? -1
            return kilobytes * 1024 / 1_000_000
        }
        return -1
    }
}
