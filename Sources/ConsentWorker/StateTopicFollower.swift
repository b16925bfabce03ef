import Foundation
import Kafka
import Logging
import Synchronization

/// Reads a compacted state topic (subscriptions, suppressions) from the beginning and then
/// follows it, handing every record to `apply` on its own thread.
///
/// Fail closed: `start` returns only once everything that was in the topic when it was called
/// has been applied. `records(of:)` reads chosen partitions again from the beginning, for a
/// replica that takes over ingest partitions and rebuilds their state.
final class StateTopicFollower: @unchecked Sendable {
    /// One record, with the partition it was read from.
    typealias Apply = (_ partition: Int32, _ key: UnsafeRawBufferPointer?, _ value: UnsafeRawBufferPointer?) -> Void

    /// A record copied out of its batch.
    struct Record: Sendable {
        let partition: Int32
        let key: [UInt8]
        let value: [UInt8]
    }

    let topic: String
    private let brokers: String
    private let clients: KafkaClientConfig
    /// Consumer properties of ours that win over the operator's (follower fetch tuning).
    private let tuning: KafkaProperties
    private let logger: Logger
    private let apply: Apply
    /// Called after each batch of records was applied, before it counts as caught up.
    private let batchApplied: () -> Void
    /// Next offset to apply, per partition.
    private let applied = Mutex<[Int32: Int64]>([:])
    private let progress = NSCondition()
    private let stopRequested = Atomic<Bool>(false)
    private let finished = DispatchSemaphore(value: 0)
    private var started = false
    /// How often the follower asks the broker whether the topic gained partitions; nil never.
    /// A partition added after start is written to by producers (the partitioner spreads keys
    /// over it) and must be read too (issue 9, defect 6).
    private let partitionRefresh: Duration?
    /// Stands in for the broker's partition count in tests (the mock cluster cannot add
    /// partitions to a topic); nil asks the broker.
    private let partitionCount: (@Sendable () -> Int)?

    static let defaultPartitionRefresh: Duration = .seconds(10)

    init(
        topic: String, brokers: String, clients: KafkaClientConfig, tuning: KafkaProperties = [:], logger: Logger,
        partitionRefresh: Duration? = StateTopicFollower.defaultPartitionRefresh, partitionCount: (@Sendable () -> Int)? = nil,
        apply: @escaping Apply, batchApplied: @escaping () -> Void = {}
    ) {
        self.partitionRefresh = partitionRefresh
        self.partitionCount = partitionCount
        self.batchApplied = batchApplied
        self.topic = topic
        self.brokers = brokers
        self.clients = clients
        self.tuning = tuning
        self.logger = logger
        self.apply = apply
    }

    /// The topic's current end, per partition.
    func highWatermarks(timeout: Duration = .seconds(10)) throws(WorkerError) -> [Int32: Int64] {
        try watermarks(timeout: timeout).mapValues(\.high)
    }

    /// Where each partition holding records must be read up to: its current end. Partitions
    /// with nothing retained are left out, since no position ever reaches their end.
    func unreadEnds(timeout: Duration = .seconds(10)) throws(WorkerError) -> [Int32: Int64] {
        try watermarks(timeout: timeout).filter { $0.value.high > $0.value.low }.mapValues(\.high)
    }

    private func watermarks(timeout: Duration) throws(WorkerError) -> [Int32: KafkaAdmin.PartitionWatermarks] {
        do {
            let admin = try KafkaAdmin(properties: clients.properties(for: .admin, over: ["bootstrap.servers": brokers]), logger: logger)
            var result: [Int32: KafkaAdmin.PartitionWatermarks] = [:]
            for partition in try admin.watermarks(topic: topic, timeout: timeout) { result[partition.partition] = partition }
            return result
        } catch let error as KafkaConfigurationError {
            throw .invalidClientProperty(error)
        } catch let error as KafkaError {
            throw .topicUnavailable(topic: topic, role: "state", underlying: error)
        } catch {
            preconditionFailure("unexpected error \(error)")
        }
    }

    /// Starts following and blocks until the topic is applied up to its end as of now, or
    /// until `cancelled` says start-up was abandoned (a shutdown during start-up).
    func start(timeout: Duration, cancelled: () -> Bool) throws(WorkerError) {
        // What the test's partition count leaves out is picked up as added partitions later.
        let known = partitionCount?() ?? Int.max
        let partitions = try highWatermarks(timeout: timeout).keys.sorted().filter { $0 < known }
        let target = try unreadEnds(timeout: timeout).filter { $0.key < known }
        applied.withLock { applied in
            for partition in partitions { applied[partition] = 0 }
        }
        let setup = Mutex<WorkerError?>(nil)
        let ready = DispatchSemaphore(value: 0)
        let thread = Thread { [self] in
            // The consumer lives and dies on this thread (librdkafka consumers have one owner).
            let consumer: KafkaConsumer
            do {
                // No group: this replica reads every partition itself and never commits.
                consumer = try KafkaConsumer(groupID: "consent-gate-state-reader", properties: consumerProperties, logger: logger)
                try consumer.assign(partitions.map {
                    TopicPartitionOffset(topic: topic, partition: $0, offset: TopicPartitionOffset.beginning)
                })
            } catch let error as KafkaConfigurationError {
                setup.withLock { $0 = .invalidClientProperty(error) }
                ready.signal()
                finished.signal()
                return
            } catch {
                setup.withLock { $0 = .topicUnavailable(topic: topic, role: "state", underlying: error as! KafkaError) }
                ready.signal()
                finished.signal()
                return
            }
            ready.signal()
            follow(consumer)
            consumer.close()
            finished.signal()
        }
        thread.name = "consent-gate.state"
        thread.start()
        ready.wait()
        started = true
        if let error = setup.withLock({ $0 }) { throw error }
        let begin = ContinuousClock.now
        while !waitUntilCaughtUp(to: target, deadline: .now + .seconds(1)) {
            if cancelled() { return }
            guard (ContinuousClock.now - begin).components.seconds % 5 == 0 else { continue }
            logger.info("loading state topic", metadata: ["topic": "\(topic)", "waited": "\(ContinuousClock.now - begin)"])
        }
        logger.info("state topic loaded", metadata: ["topic": "\(topic)", "took": "\(ContinuousClock.now - begin)"])
    }

    /// Whether every partition has been applied up to `target` (by `deadline`).
    private func waitUntilCaughtUp(to target: [Int32: Int64], deadline: ContinuousClock.Instant) -> Bool {
        progress.lock()
        defer { progress.unlock() }
        while !isCaughtUp(to: target) {
            let remaining = deadline - .now
            guard remaining > .zero else { return false }
            _ = progress.wait(until: Date(timeIntervalSinceNow: min(remaining, .milliseconds(100)).seconds))
        }
        return true
    }

    /// Every record of these partitions up to their current end, in log order per partition.
    /// Runs on the caller's thread with a consumer of its own.
    func records(of partitions: [Int32], timeout: Duration) throws(WorkerError) -> [Record] {
        let ends = try unreadEnds(timeout: timeout).filter { partitions.contains($0.key) }
        guard !ends.isEmpty else { return [] }
        var records: [Record] = []
        do {
            let consumer = try KafkaConsumer(groupID: "consent-gate-state-reader", properties: consumerProperties, logger: logger)
            defer { consumer.close() }
            let assigned = ends.keys.sorted().map { TopicPartition(topic: topic, partition: $0) }
            try consumer.assign(assigned.map {
                TopicPartitionOffset(topic: topic, partition: $0.partition, offset: TopicPartitionOffset.beginning)
            })
            let deadline = ContinuousClock.now + timeout
            while true {
                let positions = try consumer.position(assigned)
                if positions.allSatisfy({ $0.offset >= ends[$0.partition, default: 0] }) { break }
                guard ContinuousClock.now < deadline else {
                    throw KafkaError(code: .timedOut, message: "state partitions not read to their end", operation: "read \(topic)")
                }
                for message in try consumer.consume(maxMessages: 10_000, timeout: .milliseconds(100)) {
                    guard message.error == nil, let key = message.key, let value = message.value else { continue }
                    records.append(Record(partition: message.partition, key: Array(key), value: Array(value)))
                }
            }
        } catch let error as KafkaConfigurationError {
            throw .invalidClientProperty(error)
        } catch {
            throw .topicUnavailable(topic: topic, role: "state", underlying: error as! KafkaError)
        }
        return records
    }

    /// Stops following and waits for the reader thread to close its consumer.
    func stop() {
        guard started else { return }
        started = false
        stopRequested.store(true, ordering: .releasing)
        finished.wait()
    }

    private var consumerProperties: KafkaProperties {
        clients.properties(for: .consumer, over: ["bootstrap.servers": brokers]).merging(tuning)
    }

    /// Assigns the partitions the topic gained since they were last listed, from their
    /// beginning, and returns them. A failed lookup is logged and tried again next time.
    private func followAddedPartitions(_ consumer: KafkaConsumer, known: [TopicPartition], admin: inout KafkaAdmin?) -> [TopicPartition] {
        do {
            let count: Int
            if let partitionCount {
                count = partitionCount()
            } else {
                let client = try admin ?? KafkaAdmin(properties: clients.properties(for: .admin, over: ["bootstrap.servers": brokers]), logger: logger)
                admin = client
                // Short: the live changes of the known partitions wait meanwhile.
                count = try client.partitionCount(topic: topic, timeout: .seconds(2))
            }
            let knownIDs = Set(known.map(\.partition))
            let added = (0..<Int32(clamping: count)).filter { !knownIDs.contains($0) }
            guard !added.isEmpty else { return [] }
            try consumer.incrementalAssign(added.map {
                TopicPartitionOffset(topic: topic, partition: $0, offset: TopicPartitionOffset.beginning)
            })
            applied.withLock { applied in
                for partition in added { applied[partition] = 0 }
            }
            logger.warning(
                "state topic gained partitions; reading them from the beginning",
                metadata: ["topic": "\(topic)", "partitions": "\(added)", "count": "\(count)"])
            return added.map { TopicPartition(topic: topic, partition: $0) }
        } catch {
            logger.warning("cannot look up the state topic's partitions", metadata: ["topic": "\(topic)", "error": "\(error)"])
            return []
        }
    }

    private func isCaughtUp(to target: [Int32: Int64]) -> Bool {
        applied.withLock { applied in target.allSatisfy { applied[$0.key, default: 0] >= $0.value } }
    }

    private func follow(_ consumer: KafkaConsumer) {
        var partitions = applied.withLock { Array($0.keys) }.sorted().map { TopicPartition(topic: topic, partition: $0) }
        var admin: KafkaAdmin?
        var nextRefresh = partitionRefresh.map { ContinuousClock.now + $0 }
        while !stopRequested.load(ordering: .acquiring) {
            if let due = nextRefresh, let interval = partitionRefresh, ContinuousClock.now >= due {
                nextRefresh = .now + interval
                partitions += followAddedPartitions(consumer, known: partitions, admin: &admin)
            }
            do {
                let batch = try consumer.consume(maxMessages: 10_000, timeout: .milliseconds(100))
                for message in batch {
                    if let error = message.error {
                        logger.warning("state topic read error", metadata: ["topic": "\(topic)", "error": "\(error)"])
                        continue
                    }
                    apply(message.partition, message.key, message.value)
                }
                if !batch.isEmpty { batchApplied() }
                // The position moves past compacted-away offsets too, so it, not the last
                // message's offset, says how far the topic has been applied.
                let positions = try consumer.position(partitions)
                applied.withLock { applied in
                    for position in positions where position.offset >= 0 { applied[position.partition] = position.offset }
                }
            } catch {
                logger.warning("state topic read error", metadata: ["topic": "\(topic)", "error": "\(error)"])
            }
            progress.lock()
            progress.broadcast()
            progress.unlock()
        }
    }
}
