import ConsentEngine
import Foundation
import Kafka
import Logging
import Metrics
import Synchronization

/// The suppression list and the regulation log, kept in Kafka so every replica enforces a
/// deletion request, not only the one whose API received it.
///
/// - `kafka.suppressionTopic` (compacted): key `<identifier>:<id>` (`userId:u-1`,
///   `email:a@b.example`), value a small JSON note of the regulation that added it; a tombstone
///   (null value) removes it. Every replica reads the whole topic before routing anything
///   (fail closed) and follows it live, swapping in a new snapshot per batch of records.
/// - `kafka.regulationTopic`: one record per accepted regulation (key: its id), plus one
///   `delete` record per subject for SUPPRESS_WITH_DELETE and DELETE_ONLY, for downstream
///   deletion workers. Replicas follow it to answer `GET /v1/regulations/{id}`.
public final class SuppressionTopics: @unchecked Sendable {
    /// Header telling the regulation topic's record kinds apart.
    public static let recordKindHeader = "consent-gate-record"

    /// One record to write.
    public struct Record: Sendable {
        public var topic: String
        public var key: [UInt8]
        /// Nil is a tombstone.
        public var value: [UInt8]?
        public var kind: String?

        public init(topic: String, key: [UInt8], value: [UInt8]?, kind: String? = nil) {
            self.topic = topic
            self.key = key
            self.value = value
            self.kind = kind
        }
    }

    /// Why a write did not complete; nothing is reported accepted then.
    public struct WriteError: Error, CustomStringConvertible {
        public let failures: [String]
        public var description: String { "regulation not fully written: \(failures.joined(separator: "; "))" }
    }

    public let suppressionTopic: String
    public let regulationTopic: String
    private let state: RoutingState
    private let logger: Logger
    private let suppressionFollower: StateTopicFollower
    private let regulationFollower: StateTopicFollower
    private let producer: KafkaProducer
    private let writeLock = NSLock()
    /// Regulation records by id (JSON as written), for status lookups on any replica; the most
    /// recent ones up to a byte budget (issue 9, defect 7).
    private let regulations: RegulationLog
    /// Writes waiting for, or in, the one thread that runs them (issue 9, defect 7).
    private let queuedWrites = Atomic<Int>(0)
    private let writeQueue = DispatchQueue(label: "consent-gate.regulation-writes")
    /// At most this many `submit`s wait or run at a time; more are refused at once.
    public let maxQueuedWrites: Int
    private let rejectedWrites = Counter(label: "consent_gate_regulation_writes_rejected_total")

    /// Bytes of regulation JSON a replica keeps for `GET /v1/regulations/{id}` by default.
    public static let defaultRegulationLogBytes = 64 << 20
    /// Regulation writes that may wait or run at once by default.
    public static let defaultMaxQueuedWrites = 16

    /// `submit` found `maxQueuedWrites` writes ahead of it (the admin API answers 503).
    public struct WriteQueueFull: Error, CustomStringConvertible {
        public let limit: Int
        public var description: String { "\(limit) regulation writes already queued; retry later" }
    }
    private let caughtUp = Atomic<Bool>(false)
    private let pending: PendingSuppressionChanges
    private let sizeGauge = Gauge(label: "consent_gate_suppression_list_size")
    private let hooks = HookBox()

    /// Observation points for tests; they change nothing.
    package struct Hooks: Sendable {
        /// Runs on the thread calling `start` once the bulk load has ended, inside the step that
        /// swaps the loaded list into the routing state (a delay here widens that step).
        package var loadFinished: @Sendable () -> Void = {}
        /// Runs on the follower thread when it has taken a batch of live changes, before they
        /// reach the routing state.
        package var liveChangesTaken: @Sendable (_ count: Int) -> Void = { _ in }
        /// Runs on the follower thread after each batch of live changes reached the routing state.
        package var liveChangesApplied: @Sendable (_ count: Int) -> Void = { _ in }
        package init() {}
    }

    /// Installs test hooks; call before `start`.
    package func setHooks(_ hooks: Hooks) { self.hooks.current.withLock { $0 = hooks } }

    /// - Parameter seed: subjects known before the topic (e.g. `--suppressions FILE`); the
    ///   topic's records are bulk-loaded on top of them, then replace the routing state's list.
    public init(
        brokers: String, suppressionTopic: String, regulationTopic: String,
        clients: KafkaClientConfig, seed: Suppressions.Builder, state: RoutingState, logger: Logger,
        regulationLogBytes: Int = SuppressionTopics.defaultRegulationLogBytes,
        maxQueuedWrites: Int = SuppressionTopics.defaultMaxQueuedWrites
    ) throws(KafkaConfigurationError) {
        regulations = RegulationLog(maxBytes: regulationLogBytes)
        self.maxQueuedWrites = max(1, maxQueuedWrites)
        self.suppressionTopic = suppressionTopic
        self.regulationTopic = regulationTopic
        self.state = state
        self.logger = logger
        let base: KafkaProperties = ["bootstrap.servers": brokers]
        producer = try KafkaProducer(properties: clients.properties(for: .producer, over: base).merging(["linger.ms": "0"]), logger: logger)
        // Followers fetch with a short wait, since a suppression must reach every replica
        // quickly, and prefetch little, since the list itself is what should use the memory.
        let tuning: KafkaProperties = ["fetch.wait.max.ms": "20", "queued.max.messages.kbytes": "16384"]
        let pending = PendingSuppressionChanges(seed: seed)
        self.pending = pending
        let hooks = self.hooks
        suppressionFollower = StateTopicFollower(
            topic: suppressionTopic, brokers: brokers, clients: clients, tuning: tuning, logger: logger,
            apply: { _, key, value in pending.add(key: key, value: value) },
            batchApplied: { [state, sizeGauge, logger, hooks] in
                let changes = pending.take()
                guard !changes.isEmpty else { return }
                hooks.current.withLock { $0 }.liveChangesTaken(changes.count)
                state.updateSuppressions { suppressions in
                    for change in changes {
                        if change.suppressed {
                            suppressions.insert(change.id, as: change.identifier)
                        } else {
                            suppressions.remove(change.id, as: change.identifier)
                        }
                    }
                    sizeGauge.record(suppressions.count)
                }
                logger.debug("suppression list updated", metadata: ["changes": "\(changes.count)"])
                hooks.current.withLock { $0 }.liveChangesApplied(changes.count)
            })
        let regulations = self.regulations
        regulationFollower = StateTopicFollower(
            topic: regulationTopic, brokers: brokers, clients: clients, tuning: tuning, logger: logger,
            apply: { [regulations] _, key, value in
                guard let key, let value else { return }
                let id = String(decoding: key, as: UTF8.self)
                // Delete records are keyed by subject and carry `"action":"delete"`; skip them.
                guard value.starts(with: Array(#"{"regulation""#.utf8)) else { return }
                regulations.insert(id: id, json: Array(value))
            },
            batchApplied: {})
    }

    /// Reads both topics to their end (fail closed), then follows them. Blocks.
    func start(timeout: Duration, cancelled: () -> Bool) throws(WorkerError) {
        let begin = ContinuousClock.now
        try suppressionFollower.start(timeout: timeout, cancelled: cancelled)
        // The whole list was loaded in place; from now on changes arrive as small batches.
        // Ending the load and swapping the list in are one step under the routing state's lock:
        // a live batch taken after the load ended waits for the swap and lands on the loaded
        // list, instead of on the old one that the swap would then overwrite (issue 9, defect 3).
        var subjects = 0
        state.updateSuppressions { suppressions in
            suppressions = pending.finishLoading()
            subjects = suppressions.count
            hooks.current.withLock { $0 }.loadFinished()
        }
        logger.info(
            "suppression list loaded", metadata: ["subjects": "\(subjects)", "took": "\(ContinuousClock.now - begin)"])
        try regulationFollower.start(timeout: timeout, cancelled: cancelled)
        caughtUp.store(!cancelled(), ordering: .releasing)
        sizeGauge.record(state.suppressions.count)
    }

    func stop() {
        suppressionFollower.stop()
        regulationFollower.stop()
        producer.close(timeout: .seconds(5))
    }

    /// Whether the whole suppression list was loaded; until then nothing is routed.
    public var isCaughtUp: Bool { caughtUp.load(ordering: .acquiring) }

    /// The regulation record written for `id` (JSON), if any replica wrote one.
    public func regulation(id: String) -> [UInt8]? {
        regulations.json(id: id)
    }

    /// Writes records and waits until the broker acknowledged every one; throws otherwise
    /// (the caller answers 503 and the client retries; suppressing twice is harmless).
    public func write(_ records: [Record], timeout: Duration = .seconds(10)) throws {
        writeLock.lock()
        defer { writeLock.unlock() }
        try Self.write(records, with: producer, timeout: timeout)
        // Known here at once, without waiting for this replica's follower to read it back.
        for record in records where record.kind == "regulation" {
            if let value = record.value {
                regulations.insert(id: String(decoding: record.key, as: UTF8.self), json: value)
            }
        }
    }

    /// `write` on the one regulation-write thread, so concurrent requests use one thread (they
    /// would take turns on the write lock anyway), and at most `maxQueuedWrites` records sets
    /// wait in memory; beyond that it throws `WriteQueueFull` at once.
    public func submit(_ records: [Record], timeout: Duration = .seconds(10)) async throws {
        guard queuedWrites.add(1, ordering: .relaxed).newValue <= maxQueuedWrites else {
            queuedWrites.subtract(1, ordering: .relaxed)
            rejectedWrites.increment()
            throw WriteQueueFull(limit: maxQueuedWrites)
        }
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, Error>) in
            writeQueue.async { [self] in
                defer { queuedWrites.subtract(1, ordering: .relaxed) }
                continuation.resume(with: Result { try write(records, timeout: timeout) })
            }
        }
    }

    /// Regulation JSON bytes kept for status lookups, and how many regulations were evicted.
    package var regulationLogUsage: (bytes: Int, count: Int, evicted: Int) { regulations.usage }

    /// Produces `records` and waits until the broker acknowledged every one; throws otherwise.
    /// Also used by `consent-gate suppress`, which writes without following the topics.
    /// `producer` must not be used by anyone else meanwhile: its reports are read here.
    public static func write(_ records: [Record], with producer: KafkaProducer, timeout: Duration) throws {
        // Reports are told apart by a token of this write, not by record index: a write that
        // timed out leaves its records in flight, and their late reports must not count toward
        // a later write (issue 9, defect 4).
        let token = writeTokens.add(1, ordering: .relaxed).newValue
        for record in records {
            let headers = record.kind.map { KafkaHeaders([(recordKindHeader, Array($0.utf8))]) }
            try record.key.withUnsafeBytes { key in
                if let value = record.value {
                    try value.withUnsafeBytes { value in
                        try producer.send(topic: record.topic, key: key, value: value, headers: headers?.view, opaque: token)
                    }
                } else {
                    try producer.send(topic: record.topic, key: key, value: nil, headers: headers?.view, opaque: token)
                }
            }
        }
        var acknowledged = 0
        var failures: [String] = []
        let deadline = ContinuousClock.now + timeout
        while acknowledged + failures.count < records.count {
            guard ContinuousClock.now < deadline else {
                throw WriteError(failures: failures + ["\(records.count - acknowledged) records unacknowledged after \(timeout)"])
            }
            producer.pollDeliveryReports(timeout: .milliseconds(50)) { report in
                // A report of an earlier write that gave up; that write already answered.
                guard report.opaque == token else { return }
                if let error = report.error { failures.append("\(report.topic): \(error)") } else { acknowledged += 1 }
            }
        }
        if !failures.isEmpty { throw WriteError(failures: failures) }
    }

    /// Source of the per-write delivery report tokens (shared by every producer, so unique per
    /// producer too); starts above 0, which is `send`'s default opaque.
    private static let writeTokens = Atomic<UInt>(0)

    /// The suppression topic key of a subject (emails in ASCII lower case, as the engine
    /// matches them).
    public static func suppressionKey(_ identifier: SuppressionIdentifier, _ id: String) -> [UInt8] {
        let normalized = identifier == .email ? String(decoding: id.utf8.map { $0 >= 65 && $0 <= 90 ? $0 | 0x20 : $0 }, as: UTF8.self) : id
        return Array("\(identifier.rawValue):\(normalized)".utf8)
    }
}

private final class HookBox: Sendable {
    let current = Mutex(SuppressionTopics.Hooks())
}

/// The most recent regulations' JSON, at most `maxBytes` of it: the oldest inserted are
/// evicted first (their status then answers 404 on this replica; the regulation topic still
/// holds them). A single regulation over the budget is not kept at all.
private final class RegulationLog: Sendable {
    private struct Entry {
        var json: [UInt8]
        /// Which insertion this is, so an older `order` entry of a replaced id is skipped.
        var sequence: Int
        var cost: Int
    }

    private struct State {
        var byID: [String: Entry] = [:]
        /// Insertion order, oldest first from `head`.
        var order: [(id: String, sequence: Int)] = []
        var head = 0
        var nextSequence = 0
        var bytes = 0
        var evicted = 0
    }

    private let state = Mutex(State())
    private let maxBytes: Int
    private let bytesGauge = Gauge(label: "consent_gate_regulation_log_bytes")
    private let evictedCounter = Counter(label: "consent_gate_regulations_evicted_total")

    init(maxBytes: Int) { self.maxBytes = maxBytes }

    func insert(id: String, json: [UInt8]) {
        let cost = json.count + id.utf8.count
        let (bytes, evicted) = state.withLock { state -> (Int, Int) in
            if let old = state.byID.removeValue(forKey: id) { state.bytes -= old.cost }
            if cost <= maxBytes {
                state.byID[id] = Entry(json: json, sequence: state.nextSequence, cost: cost)
                state.order.append((id, state.nextSequence))
                state.nextSequence += 1
                state.bytes += cost
            }
            var evicted = 0
            while state.bytes > maxBytes, state.head < state.order.count {
                let oldest = state.order[state.head]
                state.head += 1
                guard let entry = state.byID[oldest.id], entry.sequence == oldest.sequence else { continue }
                state.byID[oldest.id] = nil
                state.bytes -= entry.cost
                evicted += 1
            }
            if state.head > 1024, state.head * 2 > state.order.count {
                state.order.removeFirst(state.head)
                state.head = 0
            }
            state.evicted += evicted
            return (state.bytes, evicted)
        }
        bytesGauge.record(bytes)
        if evicted > 0 { evictedCounter.increment(by: evicted) }
    }

    func json(id: String) -> [UInt8]? { state.withLock { $0.byID[id]?.json } }

    var usage: (bytes: Int, count: Int, evicted: Int) { state.withLock { ($0.bytes, $0.byID.count, $0.evicted) } }
}

/// Suppression records as the follower reads them: bulk-loaded into a builder until the topic
/// has been read to its end (no snapshot exists yet, so nothing is copied or merged), then
/// collected per consume batch and applied to the routing state together, so readers get one
/// new snapshot per batch rather than one per record.
private final class PendingSuppressionChanges: Sendable {
    struct Change {
        let identifier: SuppressionIdentifier
        let id: String
        let suppressed: Bool
    }

    private struct State {
        var loading: Suppressions.Builder?
        var changes: [Change] = []
    }

    private let state: Mutex<State>

    init(seed: Suppressions.Builder) {
        state = Mutex(State(loading: seed))
    }

    func add(key: UnsafeRawBufferPointer?, value: UnsafeRawBufferPointer?) {
        guard let key, let colon = key.firstIndex(of: UInt8(ascii: ":")), colon + 1 < key.count,
            let identifier = Self.identifier(UnsafeRawBufferPointer(rebasing: key[..<colon]))
        else { return }
        let id = UnsafeRawBufferPointer(rebasing: key[(colon + 1)...])
        state.withLock { state in
            if state.loading != nil {
                if value != nil { state.loading!.insert(id, as: identifier) } else { state.loading!.remove(id, as: identifier) }
            } else {
                state.changes.append(Change(identifier: identifier, id: String(decoding: id, as: UTF8.self), suppressed: value != nil))
            }
        }
    }

    /// Ends the bulk load and returns the list it built.
    func finishLoading() -> Suppressions {
        state.withLock { state in
            defer { state.loading = nil }
            return state.loading?.build() ?? Suppressions()
        }
    }

    func take() -> [Change] {
        state.withLock { state in
            defer { state.changes.removeAll(keepingCapacity: true) }
            return state.changes
        }
    }

    private static func identifier(_ bytes: UnsafeRawBufferPointer) -> SuppressionIdentifier? {
        if bytes.elementsEqual("userId".utf8) { return .userId }
        if bytes.elementsEqual("anonymousId".utf8) { return .anonymousId }
        if bytes.elementsEqual("email".utf8) { return .email }
        return nil
    }
}
