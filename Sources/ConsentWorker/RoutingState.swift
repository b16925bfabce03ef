import ConsentEngine
import Synchronization

/// The live state every lane decides against: the policy (swapped on reload), the
/// suppression list snapshot (swapped on update) and the subscription states (updated in
/// place). Readers take snapshots per batch and never wait for a writer for long.
public final class RoutingState: Sendable {
    /// A policy with its output topics, numbered so lanes notice a reload cheaply.
    public struct ActivePolicy: Sendable {
        public let version: Int
        public let compiled: CompiledPolicy
        /// Output topic per destination, index-aligned with `compiled.destinations`.
        public let destinationTopics: [String]
    }

    private let activePolicy: Mutex<ActivePolicy>
    private let currentSuppressions: Mutex<Suppressions>
    public let subscriptions = SharedSubscriptions()

    public init(policy: CompiledPolicy, destinationTopics: [String], suppressions: Suppressions = .empty) {
        precondition(destinationTopics.count == policy.destinations.count, "one topic per destination")
        activePolicy = Mutex(ActivePolicy(version: 0, compiled: policy, destinationTopics: destinationTopics))
        currentSuppressions = Mutex(suppressions)
    }

    public var policy: ActivePolicy { activePolicy.withLock { $0 } }

    /// Replaces the policy; events decided after this call use the new one.
    public func replacePolicy(_ policy: CompiledPolicy, destinationTopics: [String]) {
        precondition(destinationTopics.count == policy.destinations.count, "one topic per destination")
        activePolicy.withLock { active in
            active = ActivePolicy(version: active.version + 1, compiled: policy, destinationTopics: destinationTopics)
        }
    }

    public var suppressions: Suppressions { currentSuppressions.withLock { $0 } }

    /// Applies a change to the suppression list; lanes pick it up at their next batch.
    public func updateSuppressions(_ change: (inout Suppressions) -> Void) {
        currentSuppressions.withLock { change(&$0) }
    }
}

/// Subscription states shared by all lanes: sharded by address so an identify that changes
/// one address blocks only lookups that hash to the same shard, and only for an insert.
public final class SharedSubscriptions: SubscriptionLookup, Sendable {
    private final class Shard: Sendable {
        let store = Mutex(SubscriptionStore())
    }

    private static let shardCount = 16
    private let shards = (0..<SharedSubscriptions.shardCount).map { _ in Shard() }

    public init() {}

    public func status(address: UnsafeRawBufferPointer, channel: Channel, group: UnsafeRawBufferPointer?) -> SubscriptionStatus? {
        shards[Self.shard(address, channel)].store.withLock { $0.status(address: address, channel: channel, group: group) }
    }

    public func apply(_ updates: [SubscriptionUpdate]) {
        for update in updates {
            var address = update.address
            let shard = address.withUTF8 { Self.shard(UnsafeRawBufferPointer($0), update.channel) }
            shards[shard].store.withLock { $0.apply(update) }
        }
    }

    public var count: Int { shards.reduce(0) { $0 + $1.store.withLock(\.count) } }

    /// FNV-1a over the address, email addresses case-folded as the store keys them.
    private static func shard(_ address: UnsafeRawBufferPointer, _ channel: Channel) -> Int {
        var hash: UInt32 = 2_166_136_261
        for var byte in address {
            if channel == .email, byte >= 65, byte <= 90 { byte |= 0x20 }
            hash = (hash ^ UInt32(byte)) &* 16_777_619
        }
        return Int(hash % UInt32(shardCount))
    }
}
