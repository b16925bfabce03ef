import ConsentEngine
import Foundation
import Kafka
import Logging
import Synchronization

/// Why the worker could not start or had to stop.
public enum WorkerError: Error, CustomStringConvertible {
    /// The brokers did not answer a metadata request in time.
    case brokersUnreachable(brokers: String, underlying: KafkaError)
    /// A topic the worker reads or writes does not exist (or is not visible).
    case topicUnavailable(topic: String, role: String, underlying: KafkaError)
    /// librdkafka rejected a client property from the configuration.
    case invalidClientProperty(KafkaConfigurationError)
    /// The producer hit a fatal error (e.g. lost idempotence state); it cannot continue.
    case fatalProducerError(KafkaError)
    case consumerFailed(KafkaError)
    /// The subscription topic has fewer partitions than the ingest topic it is a changelog of.
    case changelogTooSmall(topic: String, partitions: Int, ingestPartitions: Int)

    public var description: String {
        switch self {
        case .brokersUnreachable(let brokers, let error): "cannot reach Kafka brokers \(brokers): \(error)"
        case .topicUnavailable(let topic, let role, let error): "\(role) topic \"\(topic)\" is not available: \(error)"
        case .invalidClientProperty(let error): "invalid Kafka client property: \(error)"
        case .fatalProducerError(let error): "fatal producer error: \(error)"
        case .consumerFailed(let error): "consumer failed: \(error)"
        case .changelogTooSmall(let topic, let partitions, let ingestPartitions):
            "subscription topic \"\(topic)\" has \(partitions) partitions; it needs at least as many as the ingest topic (\(ingestPartitions))"
        }
    }
}

/// The worker's engine room. One thread owns the consumer: it fetches batches, spreads each
/// batch's partitions over the lanes (fork-join, so partition order holds), commits
/// acknowledged progress, and runs the rebalance callback between batches, when no lane is
/// busy. A second thread serves delivery reports (`DeliveryLoop`).
final class RoutingPipeline: @unchecked Sendable {
    private let settings: WorkerSettings
    private let state: RoutingState
    private let metrics: WorkerMetrics
    private let logger: Logger
    private let stopRequested = Atomic<Bool>(false)
    /// Set once the consumer thread has joined the group and is routing.
    let isRunning = Atomic<Bool>(false)
    /// Set once the subscription topic has been read to its end.
    let subscriptionsLoaded = Atomic<Bool>(false)
    /// Ingest partitions currently assigned.
    let assignedCount = Atomic<Int>(0)

    // Owned by the consumer thread.
    private let registry = PartitionRegistry()
    private var partitions: [Int32: PartitionState] = [:]
    private var paused = false
    private var lanes: [RoutingLane] = []
    private var outputs: OutputTopics?
    private var subscriptionFollower: StateTopicFollower?
    /// Ingest partitions this replica routes; their subscription changes are applied locally.
    private let ownedPartitions = Mutex<Set<Int32>>([])

    init(settings: WorkerSettings, state: RoutingState, metrics: WorkerMetrics, logger: Logger) {
        self.settings = settings
        self.state = state
        self.metrics = metrics
        self.logger = logger
    }

    func requestStop() {
        stopRequested.store(true, ordering: .releasing)
    }

    /// Checks that the brokers answer and every topic exists, so a misconfiguration fails
    /// fast with a clear message instead of stalling.
    func checkTopics(timeout: Duration) throws(WorkerError) {
        let admin: KafkaAdmin
        do throws(KafkaConfigurationError) {
            admin = try KafkaAdmin(properties: settings.admin, logger: logger)
        } catch {
            throw .invalidClientProperty(error)
        }
        let policy = state.policy
        let topics = [(settings.ingestTopic, "ingest"), (settings.deadLetterTopic, "dead-letter"),
                      (settings.subscriptionTopic, "subscription state")]
            + (settings.auditTopic.map { [($0, "audit")] } ?? [])
            + policy.destinationTopics.map { ($0, "destination") }
        for (index, (topic, role)) in topics.enumerated() {
            do {
                _ = try admin.partitionCount(topic: topic, timeout: timeout)
            } catch {
                if index == 0, error.code == .transport || error.code == .timedOut || error.code == .allBrokersDown {
                    throw .brokersUnreachable(brokers: settings.brokers, underlying: error)
                }
                throw .topicUnavailable(topic: topic, role: role, underlying: error)
            }
        }
    }

    var isStopRequested: Bool { stopRequested.load(ordering: .acquiring) }

    /// Runs until `requestStop`, then stops gracefully. Blocks the calling thread.
    func run() throws(WorkerError) {
        // Fail closed: no event is decided before the shared subscription state is loaded.
        let follower = StateTopicFollower(
            topic: settings.subscriptionTopic, brokers: settings.brokers, clients: settings.clients,
            logger: logger
        ) { [unowned self] partition, key, value in
            // Changes from partitions this replica owns were applied when it decided them, in
            // order; applying them again here could only move the state backwards.
            if ownedPartitions.withLock({ $0.contains(partition) }) { return }
            guard let key, let value, let record = SubscriptionRecord(key: key, value: value) else {
                logger.warning("skipping a malformed subscription record", metadata: ["partition": "\(partition)"])
                return
            }
            state.subscriptions.apply([record.update])
        }
        try follower.start(timeout: settings.connectTimeout) { stopRequested.load(ordering: .acquiring) }
        defer { follower.stop() }
        try checkChangelogPartitions(follower)
        subscriptionFollower = follower
        subscriptionsLoaded.store(true, ordering: .releasing)
        guard !stopRequested.load(ordering: .acquiring) else {
            logger.info("stopped during start-up")
            return
        }

        let producer: KafkaProducer
        let consumer: KafkaConsumer
        do {
            producer = try KafkaProducer(properties: settings.producer, logger: logger)
        } catch {
            throw .invalidClientProperty(error)
        }
        let delivery = DeliveryLoop(
            producer: producer, registry: registry, changelogTopic: settings.subscriptionTopic, metrics: metrics, logger: logger)
        do {
            consumer = try KafkaConsumer(
                groupID: settings.groupID, properties: settings.consumer, logger: logger,
                rebalanceHandler: { [unowned self] consumer, event in
                    rebalance(event, consumer: consumer, delivery: delivery)
                },
                statisticsHandler: { [metrics] statistics in
                    for partition in statistics.partitions where partition.consumerLag >= 0 {
                        metrics.consumerLag(topic: partition.topic, partition: partition.partition, lag: partition.consumerLag)
                    }
                })
        } catch {
            producer.close(timeout: .zero)
            throw .invalidClientProperty(error)
        }
        delivery.start()
        let initialPolicy = state.policy
        // Series exist at zero from the start, so failure alerts evaluate before any failure.
        for topic in initialPolicy.destinationTopics + [settings.deadLetterTopic, settings.subscriptionTopic] {
            metrics.produceFailure(topic: topic, count: 0)
        }
        for kind in ["assigned", "revoked", "lost"] { metrics.rebalance(kind, count: 0) }
        lanes = (0..<max(1, settings.lanes)).map { _ in
            RoutingLane(policy: initialPolicy, workerMetrics: metrics, logger: logger)
        }

        var failure: WorkerError?
        do throws(KafkaError) {
            try consumer.subscribe(topics: [settings.ingestTopic])
            isRunning.store(true, ordering: .releasing)
            logger.info("routing", metadata: ["topic": "\(settings.ingestTopic)", "group": "\(settings.groupID)", "lanes": "\(lanes.count)"])
            var nextCommit = ContinuousClock.now + settings.commitInterval
            while !stopRequested.load(ordering: .acquiring) {
                if let fatal = delivery.fatalError {
                    failure = .fatalProducerError(fatal)
                    logger.critical("the producer failed fatally; stopping so the replica restarts", metadata: ["error": "\(fatal)"])
                    break
                }
                try applyBackPressure(consumer, delivery)
                let batch = try consumer.consume(maxMessages: settings.batchSize, timeout: .milliseconds(100))
                if !batch.isEmpty { route(batch, producer: producer, delivery: delivery) }
                if ContinuousClock.now >= nextCommit {
                    commitProgress(consumer)
                    nextCommit = .now + settings.commitInterval
                }
            }
        } catch {
            failure = error.isFatal ? .fatalProducerError(error) : .consumerFailed(error)
            logger.error("stopping after a Kafka error", metadata: ["error": "\(error)"])
        }
        shutDown(consumer: consumer, producer: producer, delivery: delivery)
        if let failure { throw failure }
    }

    /// Stops fetching while too many outputs wait for acknowledgement, so memory stays flat
    /// however far behind the worker is; keeps polling so rebalances are still served.
    private func applyBackPressure(_ consumer: KafkaConsumer, _ delivery: DeliveryLoop) throws(KafkaError) {
        let overLimit = delivery.inFlight.load(ordering: .relaxed) > settings.maxInFlightOutputs
            || delivery.retryBytes.load(ordering: .relaxed) > settings.maxRetryBytes
        guard overLimit != paused else { return }
        let assigned = partitions.values.map(\.topicPartition)
        if overLimit {
            try consumer.pause(assigned)
        } else {
            try consumer.resume(assigned)
        }
        paused = overLimit
    }

    /// Spreads the batch over the lanes by partition and runs them in parallel.
    private func route(_ batch: MessageBatch, producer: KafkaProducer, delivery: DeliveryLoop) {
        let policy = state.policy
        let outputs = outputTopics(for: policy, producer: producer)
        var busyLanes = 0
        for index in batch.indices {
            let message = batch[index]
            if let error = message.error {
                logger.warning("consumer error", metadata: ["error": "\(error)"])
                continue
            }
            guard let partition = partitions[message.partition] else { continue }  // revoked meanwhile
            let lane = lanes[Int(partition.slot) % lanes.count]
            if lane.items.isEmpty { busyLanes += 1 }
            lane.items.append(LaneItem(index: index, partition: partition))
        }
        let context = BatchContext(
            batch: batch, policy: policy, outputs: outputs, suppressions: state.suppressions,
            subscriptions: state.subscriptions, producer: producer, delivery: delivery,
            ingestTopic: settings.ingestTopic)
        if busyLanes <= 1 {
            for lane in lanes where !lane.items.isEmpty { lane.route(context) }
        } else {
            let lanes = self.lanes
            DispatchQueue.concurrentPerform(iterations: lanes.count) { index in
                lanes[index].route(context)
            }
        }
    }

    private func outputTopics(for policy: RoutingState.ActivePolicy, producer: KafkaProducer) -> OutputTopics {
        if let outputs, outputs.version == policy.version { return outputs }
        let fresh = OutputTopics(
            version: policy.version, destinations: policy.destinationTopics.map(producer.topic),
            deadLetter: producer.topic(settings.deadLetterTopic),
            subscriptions: producer.topic(settings.subscriptionTopic),
            audit: settings.auditTopic.map(producer.topic))
        outputs = fresh
        return fresh
    }

    /// Commits the watermarks that moved since the last commit, without waiting.
    private func commitProgress(_ consumer: KafkaConsumer) {
        let offsets = registry.takeCommits()
        guard !offsets.isEmpty else { return }
        do {
            try consumer.commitAsync(offsets)
            metrics.commitsOK.increment()
        } catch {
            metrics.commitsFailed.increment()
            logger.warning("commit failed", metadata: ["error": "\(error)"])
        }
    }

    /// Commits these partitions' watermarks and waits for the broker; returns whether the
    /// broker accepted them (nothing to commit counts as success).
    @discardableResult
    private func tryCommit(_ states: [PartitionState], _ consumer: KafkaConsumer, reason: String) -> Bool {
        let offsets = states.compactMap { state in
            state.progress.withLock(\.committableOffset).map {
                TopicPartitionOffset(topic: state.topicPartition.topic, partition: state.topicPartition.partition, offset: $0)
            }
        }
        guard !offsets.isEmpty else { return true }
        do {
            try consumer.commit(offsets)
            metrics.commitsOK.increment()
            logger.debug("committed", metadata: ["reason": "\(reason)", "offsets": "\(offsets)"])
            return true
        } catch {
            metrics.commitsFailed.increment()
            logger.warning("commit failed", metadata: ["reason": "\(reason)", "error": "\(error)"])
            return false
        }
    }

    /// Our rebalance callback, run on the consumer thread between batches (no lane is busy).
    private func rebalance(_ event: KafkaConsumer.RebalanceEvent, consumer: KafkaConsumer, delivery: DeliveryLoop) {
        switch event {
        case .assigned(let assigned):
            metrics.rebalance("assigned")
            ownedPartitions.withLock { $0.formUnion(assigned.map(\.partition)) }
            restoreSubscriptions(of: assigned, consumer: consumer)
            for state in registry.assign(assigned) { partitions[state.topicPartition.partition] = state }
            if paused {
                do { try consumer.pause(assigned) } catch { logger.warning("cannot pause new partitions", metadata: ["error": "\(error)"]) }
            }
            logger.info("partitions assigned", metadata: ["partitions": "\(assigned.map(\.partition).sorted())"])

        case .revoked(let revoked):
            metrics.rebalance("revoked")
            let states = revoked.compactMap { partitions[$0.partition] }
            // Drain: wait until every output of the revoked partitions is acknowledged, then
            // commit, so the next owner resumes exactly after what reached the destinations.
            let drained = delivery.wait(until: .now + settings.drainTimeout) {
                states.allSatisfy { $0.progress.withLock(\.pendingCount) == 0 }
            }
            if !drained {
                logger.warning("revoke: outputs still unacknowledged after the drain timeout; the new owner will redeliver them")
            }
            tryCommit(states, consumer, reason: "revoke")
            forget(revoked)
            logger.info("partitions revoked", metadata: ["partitions": "\(revoked.map(\.partition).sorted())"])

        case .lost(let lost):
            metrics.rebalance("lost")
            // Someone else owns them already: committing could overwrite their progress.
            forget(lost)
            logger.warning("partitions lost", metadata: ["partitions": "\(lost.map(\.partition).sorted())"])
        }
        metrics.assignedPartitions.record(partitions.count)
        assignedCount.store(partitions.count, ordering: .releasing)
    }

    /// The subscription topic is the changelog of the ingest topic's subscription changes,
    /// partition for partition, so it needs at least as many partitions.
    private func checkChangelogPartitions(_ follower: StateTopicFollower) throws(WorkerError) {
        let stateCount = try follower.highWatermarks().count
        let ingestCount: Int
        do {
            ingestCount = try KafkaAdmin(properties: settings.admin, logger: logger)
                .partitionCount(topic: settings.ingestTopic, timeout: .seconds(10))
        } catch let error as KafkaError {
            throw .topicUnavailable(topic: settings.ingestTopic, role: "ingest", underlying: error)
        } catch {
            throw .invalidClientProperty(error as! KafkaConfigurationError)
        }
        guard stateCount >= ingestCount else {
            throw .changelogTooSmall(topic: settings.subscriptionTopic, partitions: stateCount, ingestPartitions: ingestCount)
        }
    }

    /// Rebuilds the subscription state of newly assigned partitions as of their committed
    /// offsets, before any of their events is routed: changes the previous owner published
    /// past that offset are undone, since replaying from it publishes them again in order.
    /// Without this, a replayed event could be decided with a subscription from its future.
    private func restoreSubscriptions(of assigned: [TopicPartition], consumer: KafkaConsumer) {
        guard let follower = subscriptionFollower, !assigned.isEmpty else { return }
        let begin = ContinuousClock.now
        while true {
            do {
                let resumeAt = try resumeOffsets(of: assigned, consumer: consumer)
                let records = try follower.records(of: assigned.map(\.partition), timeout: .seconds(30))
                var asOfResume: [[UInt8]: SubscriptionRecord] = [:]
                var changedLater: [[UInt8]: SubscriptionRecord] = [:]
                for raw in records {
                    let parsed = raw.key.withUnsafeBytes { key in raw.value.withUnsafeBytes { SubscriptionRecord(key: key, value: $0) } }
                    guard let record = parsed else { continue }
                    if record.sourceOffset < resumeAt[raw.partition, default: 0] {
                        asOfResume[raw.key] = record
                    } else {
                        changedLater[raw.key] = record
                    }
                }
                var updates = asOfResume.values.map(\.update)
                for (key, record) in changedLater where asOfResume[key] == nil {
                    var unknown = record.update
                    unknown.status = .didNotSubscribe
                    updates.append(unknown)
                }
                state.subscriptions.apply(updates)
                logger.info(
                    "subscription state restored for assigned partitions",
                    metadata: ["records": "\(records.count)", "took": "\(ContinuousClock.now - begin)"])
                return
            } catch {
                // Fail closed: routing these partitions with a wrong state could leak.
                logger.error("cannot restore subscription state; retrying", metadata: ["error": "\(error)"])
                Thread.sleep(forTimeInterval: 1)
            }
        }
    }

    /// Where routing of each partition resumes: the committed offset, or the oldest retained
    /// offset when the group has none.
    private func resumeOffsets(of partitions: [TopicPartition], consumer: KafkaConsumer) throws -> [Int32: Int64] {
        var offsets: [Int32: Int64] = [:]
        for committed in try consumer.committed(partitions, timeout: .seconds(10)) where committed.offset >= 0 {
            offsets[committed.partition] = committed.offset
        }
        if offsets.count < partitions.count {
            let admin = try KafkaAdmin(properties: settings.admin, logger: logger)
            for watermark in try admin.watermarks(topic: settings.ingestTopic, timeout: .seconds(10)) where offsets[watermark.partition] == nil {
                offsets[watermark.partition] = watermark.low
            }
        }
        return offsets
    }

    private func forget(_ topicPartitions: [TopicPartition]) {
        registry.remove(topicPartitions)
        ownedPartitions.withLock { $0.subtract(topicPartitions.map(\.partition)) }
        for partition in topicPartitions { partitions[partition.partition] = nil }
    }

    /// Finishes in-flight work, commits it, leaves the group and closes the clients, within
    /// `shutdownTimeout`. Fetching stops, but the consumer keeps being polled meanwhile, so a
    /// rebalance that starts during the stop is still served (its revoke drains and commits)
    /// and this member is not evicted with its progress uncommitted. Whatever is still
    /// unacknowledged at the deadline is not committed: it is consumed again (at least once).
    private func shutDown(consumer: KafkaConsumer, producer: KafkaProducer, delivery: DeliveryLoop) {
        let deadline = ContinuousClock.now + settings.shutdownTimeout
        do {
            try consumer.pause(partitions.values.map(\.topicPartition))
            paused = true
        } catch {
            logger.warning("shutdown: cannot pause fetching", metadata: ["error": "\(error)"])
        }
        var committed = false
        while ContinuousClock.now < deadline {
            do {
                // Already-fetched messages may still arrive; they are routed like any other.
                let batch = try consumer.consume(maxMessages: settings.batchSize, timeout: .milliseconds(50))
                if !batch.isEmpty { route(batch, producer: producer, delivery: delivery) }
            } catch {
                logger.warning("shutdown: consumer error", metadata: ["error": "\(error)"])
            }
            guard delivery.inFlight.load(ordering: .relaxed) == 0 else { continue }
            if tryCommit(Array(partitions.values), consumer, reason: "shutdown") {
                committed = true
                break
            }
        }
        if !committed {
            logger.warning("shutdown: progress not fully committed; unacknowledged events will be redelivered after restart",
                           metadata: ["in_flight": "\(delivery.inFlight.load(ordering: .relaxed))"])
        }
        consumer.close()  // leaves the group; the final revoke finds nothing left to drain
        delivery.stop()
        producer.close(timeout: max(.zero, deadline - .now))
        isRunning.store(false, ordering: .releasing)
        logger.info("stopped")
    }
}
