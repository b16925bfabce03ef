import ConsentWorker
import Testing

@Suite struct PartitionProgressTests {
    @Test func watermarkWaitsForTheOldestUnacknowledgedMessage() {
        var progress = PartitionProgress()
        let first = progress.admit(offset: 10, outputs: 2)
        let second = progress.admit(offset: 11, outputs: 1)
        progress.acknowledge(second)
        #expect(progress.committableOffset == nil, "offset 11 is done but 10 is not")
        progress.acknowledge(first)
        #expect(progress.committableOffset == nil, "10 still has one output in flight")
        progress.acknowledge(first)
        #expect(progress.committableOffset == 12)
        #expect(progress.pendingCount == 0)
    }

    @Test func messagesWithoutOutputsCompleteInOrder() {
        var progress = PartitionProgress()
        let first = progress.admit(offset: 0, outputs: 1)
        _ = progress.admit(offset: 1, outputs: 0)
        #expect(progress.committableOffset == nil)
        progress.acknowledge(first)
        #expect(progress.committableOffset == 2)
        _ = progress.admit(offset: 2, outputs: 0)
        #expect(progress.committableOffset == 3)
    }

    @Test func takeCommitReturnsEachNewWatermarkOnce() {
        var progress = PartitionProgress()
        let sequence = progress.admit(offset: 5, outputs: 1)
        #expect(progress.takeCommit() == nil)
        progress.acknowledge(sequence)
        #expect(progress.takeCommit() == 6)
        #expect(progress.takeCommit() == nil)
    }

    @Test func duplicateAndStaleAcknowledgementsAreIgnored() {
        var progress = PartitionProgress()
        let first = progress.admit(offset: 0, outputs: 1)
        let second = progress.admit(offset: 1, outputs: 2)
        progress.acknowledge(first)
        progress.acknowledge(first)
        progress.acknowledge(second)
        #expect(progress.committableOffset == 1, "a repeated ack for 0 must not complete 1")
        progress.acknowledge(second &+ 100)
        #expect(progress.committableOffset == 1)
        progress.acknowledge(second)
        #expect(progress.committableOffset == 2)
    }

    @Test func longRunsCompactWithoutLosingPosition() {
        var progress = PartitionProgress()
        var open: [PartitionProgress.Sequence] = []
        for offset in 0..<20_000 { open.append(progress.admit(offset: Int64(offset), outputs: 1)) }
        // Acknowledge everything but the first in reverse order, then the first.
        for sequence in open.dropFirst().reversed() { progress.acknowledge(sequence) }
        #expect(progress.committableOffset == nil)
        progress.acknowledge(open[0])
        #expect(progress.committableOffset == 20_000)
        let next = progress.admit(offset: 20_000, outputs: 1)
        progress.acknowledge(next)
        #expect(progress.committableOffset == 20_001)
    }
}
