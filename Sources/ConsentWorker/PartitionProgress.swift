/// The at-least-once bookkeeping of one assigned input partition.
///
/// Every consumed input message is admitted in offset order with the number of outputs it
/// produced (destination copies or a dead-letter copy). Each broker acknowledgement decrements
/// its count. The committable offset only moves past a message once it and every message
/// before it in the partition are fully acknowledged, so a crash can never skip an output.
///
/// A pure state machine: the caller serialises access (the worker guards it with a mutex)
/// and turns the returned offsets into Kafka commits.
public struct PartitionProgress: Sendable {
    /// Identifies one admitted message; returned to ``acknowledge(_:)`` by the delivery report.
    public typealias Sequence = UInt64

    private struct Entry: Sendable {
        var offset: Int64
        var remaining: Int32
        /// Caller-chosen admission time, handed back when the message completes (latency).
        var admittedAt: UInt64
    }

    /// Pending entries, oldest first; `entries[head...]` are live.
    private var entries: [Entry] = []
    private var head = 0
    /// Sequence number of `entries[head]`.
    private var headSequence: Sequence = 0
    /// The next offset to commit (Kafka semantics: last fully done offset + 1), if any moved.
    public private(set) var committableOffset: Int64?
    /// The offset last handed to a commit, so unchanged watermarks are not committed again.
    public private(set) var committedOffset: Int64?

    public init() {}

    /// Messages admitted and not yet fully acknowledged, including completed ones still
    /// waiting behind an older unacknowledged message.
    public var pendingCount: Int { entries.count - head }

    /// Records a consumed message with `outputs` copies in flight. Messages with no output
    /// (every destination dropped it) complete at once, but still wait for older ones.
    public mutating func admit(offset: Int64, outputs: Int, admittedAt: UInt64 = 0) -> Sequence {
        let sequence = headSequence + Sequence(entries.count - head)
        entries.append(Entry(offset: offset, remaining: Int32(outputs), admittedAt: admittedAt))
        if outputs == 0 { advance() }
        return sequence
    }

    /// Records one broker acknowledgement for the message `sequence`. Returns the message's
    /// admission time when this was its last outstanding output, nil otherwise.
    /// Stale or unknown sequences (from before a reassignment) are ignored.
    @discardableResult
    public mutating func acknowledge(_ sequence: Sequence) -> UInt64? {
        guard sequence >= headSequence else { return nil }
        let index = head + Int(sequence - headSequence)
        guard index < entries.count, entries[index].remaining > 0 else { return nil }
        entries[index].remaining -= 1
        guard entries[index].remaining == 0 else { return nil }
        let admittedAt = entries[index].admittedAt
        if index == head { advance() }
        return admittedAt
    }

    /// The offset to commit now, if it moved since the last call; marks it as committed.
    public mutating func takeCommit() -> Int64? {
        guard let offset = committableOffset, offset != committedOffset else { return nil }
        committedOffset = offset
        return offset
    }

    /// Pops every completed entry at the head and moves the watermark past them.
    private mutating func advance() {
        while head < entries.count, entries[head].remaining == 0 {
            committableOffset = entries[head].offset + 1
            head += 1
            headSequence += 1
        }
        // Compact occasionally so the array does not grow with the partition's history.
        if head == entries.count {
            entries.removeAll(keepingCapacity: true)
            head = 0
        } else if head >= 4096, head * 2 >= entries.count {
            entries.removeFirst(head)
            head = 0
        }
    }
}
