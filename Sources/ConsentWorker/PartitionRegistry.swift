import Kafka
import Synchronization

/// One assigned input partition: its acknowledgement watermark, shared by the lane that
/// admits its messages and the delivery-report thread that acknowledges their outputs.
final class PartitionState: Sendable {
    let topicPartition: TopicPartition
    /// Names this assignment in delivery tokens; never reused while reports may be in flight.
    let slot: UInt16
    let progress = Mutex(PartitionProgress())

    init(topicPartition: TopicPartition, slot: UInt16) {
        self.topicPartition = topicPartition
        self.slot = slot
    }

    /// The producer's opaque token for one output of message `sequence`.
    func token(for sequence: PartitionProgress.Sequence) -> UInt {
        UInt(slot) << 48 | UInt(sequence & DeliveryToken.sequenceMask)
    }
}

/// Decodes the opaque token carried by a delivery report back to its partition and message.
enum DeliveryToken {
    static let sequenceMask: UInt64 = (1 << 48) - 1

    static func slot(of token: UInt) -> UInt16 { UInt16(truncatingIfNeeded: token >> 48) }
    static func sequence(of token: UInt) -> PartitionProgress.Sequence { UInt64(token) & sequenceMask }
}

/// The partitions this replica owns, by slot, so delivery reports find their partition in
/// O(1). Assignment changes come from the consumer thread; lookups from the report thread.
final class PartitionRegistry: Sendable {
    private struct Table {
        var bySlot: [UInt16: PartitionState] = [:]
        var byPartition: [TopicPartition: PartitionState] = [:]
        var nextSlot: UInt16 = 0
    }

    private let table = Mutex(Table())

    /// Registers newly assigned partitions with fresh slots, so late reports for an earlier
    /// assignment of the same partition cannot acknowledge the new one's messages.
    func assign(_ partitions: [TopicPartition]) -> [PartitionState] {
        table.withLock { table in
            partitions.map { partition in
                if let existing = table.byPartition[partition] { return existing }
                while table.bySlot[table.nextSlot] != nil { table.nextSlot &+= 1 }
                let state = PartitionState(topicPartition: partition, slot: table.nextSlot)
                table.nextSlot &+= 1
                table.bySlot[state.slot] = state
                table.byPartition[partition] = state
                return state
            }
        }
    }

    /// Forgets partitions that were revoked or lost; their late reports are ignored.
    func remove(_ partitions: [TopicPartition]) {
        table.withLock { table in
            for partition in partitions {
                if let state = table.byPartition.removeValue(forKey: partition) {
                    table.bySlot[state.slot] = nil
                }
            }
        }
    }

    func state(slot: UInt16) -> PartitionState? {
        table.withLock { $0.bySlot[slot] }
    }

    var all: [PartitionState] {
        table.withLock { Array($0.byPartition.values) }
    }

    /// Offsets that moved since they were last taken, ready to commit.
    func takeCommits() -> [TopicPartitionOffset] {
        all.compactMap { state in
            state.progress.withLock { $0.takeCommit() }.map {
                TopicPartitionOffset(topic: state.topicPartition.topic, partition: state.topicPartition.partition, offset: $0)
            }
        }
    }
}
