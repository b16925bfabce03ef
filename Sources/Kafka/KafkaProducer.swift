import CRdKafka
import Foundation
import Logging
import Synchronization

/// An idempotent Kafka producer whose delivery reports are read in batches by the owner.
///
/// Threads: `send` may be called from any number of threads. Delivery reports queue up inside
/// librdkafka until someone calls `pollDeliveryReports` (normally one dedicated thread, or the
/// sending thread between sends). When librdkafka's queue is full, `send` waits and retries —
/// it never drops or throws for back-pressure. While waiting it serves delivery reports itself
/// if no other thread is serving them (buffering them for the next `pollDeliveryReports`), so a
/// single thread that both sends and polls cannot deadlock; a `send` made from inside a
/// `pollDeliveryReports` handler is fine too.
///
/// `@unchecked Sendable`: librdkafka producer handles are thread-safe; our own mutable state
/// is behind `Mutex`/`NSCondition`, and `close` must not race with other calls (documented).
public final class KafkaProducer: @unchecked Sendable {
    /// A cached topic handle: sending through it skips the per-message lookup by name.
    public struct Topic: Sendable, Hashable {
        let handle: TopicHandle
        public var name: String { handle.name }

        public static func == (a: Topic, b: Topic) -> Bool { a.handle === b.handle }
        public func hash(into hasher: inout Hasher) { hasher.combine(ObjectIdentifier(handle)) }
    }

    /// Owns an `rd_kafka_topic_t` whose opaque points back here, so a delivery report finds its
    /// topic name without a lock or a string allocation.
    final class TopicHandle: Sendable {
        let name: String
        /// Nil when librdkafka refused the topic (e.g. an empty or over-long name); sends then
        /// fail with `creationError`.
        nonisolated(unsafe) private(set) var rkt: OpaquePointer?  // set once in init
        nonisolated(unsafe) private(set) var creationError = RD_KAFKA_RESP_ERR_NO_ERROR  // set once in init

        /// `rk` nil: the producer is closed, so no librdkafka topic is created.
        init(name: String, rk: OpaquePointer?) {
            self.name = name
            guard let rk else {
                creationError = RD_KAFKA_RESP_ERR__DESTROY
                return
            }
            let topicConf = rd_kafka_default_topic_conf_dup(rk)
            rd_kafka_topic_conf_set_opaque(topicConf, Unmanaged.passUnretained(self).toOpaque())
            rkt = rd_kafka_topic_new(rk, name, topicConf)
            if rkt == nil { creationError = rd_kafka_last_error() }
        }

        static func from(_ rkt: OpaquePointer?) -> TopicHandle {
            Unmanaged<TopicHandle>.fromOpaque(rd_kafka_topic_opaque(rkt)!).takeUnretainedValue()
        }
    }

    /// Who is serving delivery reports right now, and reports served by a waiting `send`
    /// or `flush` that the owner has not collected yet.
    private struct ServeState {
        var serving = false
        var servingThread = pthread_self()
        var buffered: [DeliveryReport] = []
        /// Bumped whenever reports were served, so waiters know queue space may have freed.
        var generation: UInt64 = 0
    }

    private let rk: OpaquePointer
    private let mainQueue: OpaquePointer
    private let context: ClientContext
    private let topics = Mutex<[String: TopicHandle]>([:])
    private let serveCondition = NSCondition()
    nonisolated(unsafe) private var serveState = ServeState()  // guarded by serveCondition
    private let closed = Atomic<Bool>(false)

    /// How long one back-pressure wait lasts before `send` retries.
    private static let backPressureWaitMilliseconds: Int32 = 10

    /// - Parameter properties: librdkafka properties (e.g. `bootstrap.servers`, `linger.ms`,
    ///   `partitioner`), applied over `KafkaProperties.producerDefaults`.
    public init(properties: KafkaProperties, logger: Logger = Logger(label: "kafka.producer")) throws(KafkaConfigurationError) {
        context = ClientContext(logger: logger)
        rk = try context.makeClient(RD_KAFKA_PRODUCER, properties: KafkaProperties.producerDefaults.merging(properties)) {
            conf in
            // Delivery reports and client errors become events on the main queue, read in batches.
            rd_kafka_conf_set_events(conf, Int32(RD_KAFKA_EVENT_DR | RD_KAFKA_EVENT_ERROR))
        }
        mainQueue = rd_kafka_queue_get_main(rk)
    }

    /// The properties this client was created with, defaults included (`rd_kafka_conf_dump`);
    /// empty after `close`.
    public var effectiveConfiguration: [String: String] {
        closed.load(ordering: .acquiring) ? [:] : Kafka.effectiveConfiguration(of: rk)
    }

    deinit { close() }

    /// The cached handle for `name`, created on first use.
    public func topic(_ name: String) -> Topic {
        topics.withLock { cache in
            if let handle = cache[name] { return Topic(handle: handle) }
            // After `close` the client is gone: hand out an inert handle that sends refuse.
            guard !closed.load(ordering: .relaxed) else { return Topic(handle: TopicHandle(name: name, rk: nil)) }
            let handle = TopicHandle(name: name, rk: rk)
            cache[name] = handle
            return Topic(handle: handle)
        }
    }

    /// Enqueues one message; librdkafka copies key, value and headers (`RD_KAFKA_MSG_F_COPY`),
    /// so the buffers may be reused as soon as this returns.
    ///
    /// - Parameters:
    ///   - partition: explicit partition, or nil for the configured `partitioner`.
    ///   - key, value: nil means a null key/value.
    ///   - headers: copied with `rd_kafka_headers_copy`; e.g. a consumed message's headers.
    ///   - opaque: returned in this message's `DeliveryReport`.
    /// - Throws: `KafkaError` for anything but a full queue (which is waited out), e.g. unknown
    ///   partition, message too large, fatal producer error, or use after `close`.
    public func send(
        to topic: Topic, partition: Int32? = nil,
        key: UnsafeRawBufferPointer?, value: UnsafeRawBufferPointer?,
        headers: MessageHeaders? = nil, opaque: UInt = 0
    ) throws(KafkaError) {
        guard !closed.load(ordering: .relaxed) else {
            throw KafkaError(code: .state, message: "producer is closed", operation: "produce to \"\(topic.name)\"")
        }
        guard let rkt = topic.handle.rkt else {
            throw KafkaError(topic.handle.creationError, "produce to \"\(topic.name)\"", message: "librdkafka refused the topic name")
        }
        // librdkafka takes ownership of the copy only when the produce call succeeds.
        let headerCopy = headers.map { rd_kafka_headers_copy($0.pointer)! }
        var error: OpaquePointer?
        withUnsafeTemporaryAllocation(of: rd_kafka_vu_t.self, capacity: 7) { vus in
            vus[0] = rd_kafka_vu_t(vtype: RD_KAFKA_VTYPE_RKT, u: .init(rkt: rkt))
            vus[1] = rd_kafka_vu_t(vtype: RD_KAFKA_VTYPE_PARTITION, u: .init(i32: partition ?? RD_KAFKA_PARTITION_UA))
            vus[2] = rd_kafka_vu_t(vtype: RD_KAFKA_VTYPE_MSGFLAGS, u: .init(i: RD_KAFKA_MSG_F_COPY))
            vus[3] = rd_kafka_vu_t(vtype: RD_KAFKA_VTYPE_VALUE, u: .init(mem: Self.memory(value)))
            vus[4] = rd_kafka_vu_t(vtype: RD_KAFKA_VTYPE_KEY, u: .init(mem: Self.memory(key)))
            vus[5] = rd_kafka_vu_t(vtype: RD_KAFKA_VTYPE_OPAQUE, u: .init(ptr: UnsafeMutableRawPointer(bitPattern: opaque)))
            var count = 6
            if let headerCopy {
                vus[6] = rd_kafka_vu_t(vtype: RD_KAFKA_VTYPE_HEADERS, u: .init(headers: headerCopy))
                count = 7
            }
            let base = UnsafePointer(vus.baseAddress!)
            while true {
                error = rd_kafka_produceva(rk, base, count)
                guard let e = error, rd_kafka_error_code(e) == RD_KAFKA_RESP_ERR__QUEUE_FULL else { return }
                rd_kafka_error_destroy(e)
                waitForProgress(milliseconds: Self.backPressureWaitMilliseconds)
            }
        }
        guard let error else { return }
        if let headerCopy { rd_kafka_headers_destroy(headerCopy) }
        throw failure(consuming: error, "produce to \"\(topic.name)\"")
    }

    /// `send(to:)` by topic name, through the topic cache.
    public func send(
        topic name: String, partition: Int32? = nil,
        key: UnsafeRawBufferPointer?, value: UnsafeRawBufferPointer?,
        headers: MessageHeaders? = nil, opaque: UInt = 0
    ) throws(KafkaError) {
        try send(to: topic(name), partition: partition, key: key, value: value, headers: headers, opaque: opaque)
    }

    /// Produces a failed report's message again, to the same topic with the same opaque token
    /// (partition chosen again by the partitioner, which keeps keyed messages in place).
    public func resend(_ report: DeliveryReport) throws(KafkaError) {
        guard let message = report.undelivered else { return }
        var failure: KafkaError?
        Self.withOptionalBytes(message.key) { key in
            Self.withOptionalBytes(message.value) { value in
                do throws(KafkaError) {
                    try send(topic: report.topic, key: key, value: value, headers: message.headers?.view, opaque: report.opaque)
                } catch {
                    failure = error
                }
            }
        }
        if let failure { throw failure }
    }

    /// Calls `body` for each delivery report available, in order: first those buffered by a
    /// waiting `send`/`flush`, then up to `maxEvents` report batches from librdkafka, waiting at
    /// most `timeout` for the first. Returns the number of reports handled.
    ///
    /// Call it regularly from one thread: unserved reports hold queue space, so senders would
    /// otherwise end up serving them. `body` may call `send`; it must not call this method.
    @discardableResult
    public func pollDeliveryReports(
        maxEvents: Int = 64, timeout: Duration = .zero, _ body: (DeliveryReport) -> Void
    ) -> Int {
        guard !closed.load(ordering: .relaxed) else { return 0 }
        serveCondition.lock()
        while serveState.serving {
            if pthread_equal(serveState.servingThread, pthread_self()) != 0 {
                serveCondition.unlock()
                preconditionFailure("pollDeliveryReports called from its own handler")
            }
            serveCondition.wait()
        }
        serveState.serving = true
        serveState.servingThread = pthread_self()
        serveCondition.unlock()

        var handled = 0
        var events = 0
        var waitMilliseconds = timeout.kafkaMilliseconds
        var reports: [DeliveryReport] = []
        while true {
            // Reports buffered by a waiting sender (or by `send` calls in `body`) came off the
            // queue earlier than anything still on it, so they go first.
            serveCondition.lock()
            swap(&reports, &serveState.buffered)
            serveCondition.unlock()
            if reports.isEmpty {
                guard events < maxEvents, let event = rd_kafka_queue_poll(mainQueue, waitMilliseconds) else { break }
                events += 1
                // Reports are copied out and the event destroyed *before* calling `body`: its
                // messages count against `queue.buffering.max.messages` until then, and `body`
                // may send.
                collect(event, into: &reports)
                serveCondition.lock()
                serveState.generation &+= 1
                serveCondition.broadcast()
                serveCondition.unlock()
            }
            waitMilliseconds = 0
            for report in reports { body(report) }
            handled += reports.count
            reports.removeAll(keepingCapacity: true)
        }

        serveCondition.lock()
        serveState.serving = false
        serveState.generation &+= 1
        serveCondition.broadcast()
        serveCondition.unlock()
        return handled
    }

    /// Number of messages not yet delivered or failed, plus unserved events (0 after `close`).
    public var inFlightCount: Int { closed.load(ordering: .relaxed) ? 0 : Int(rd_kafka_outq_len(rk)) }

    /// Waits until every message sent so far has a delivery report (served by another thread
    /// or buffered for the next `pollDeliveryReports`).
    /// - Throws: `KafkaError` `.timedOut` if messages are still in flight after `timeout`.
    public func flush(timeout: Duration) throws(KafkaError) {
        guard !closed.load(ordering: .relaxed) else { return }
        let deadline = ContinuousClock.now + timeout
        while rd_kafka_outq_len(rk) > 0 {
            let remaining = deadline - .now
            guard remaining > .zero else {
                throw KafkaError(
                    code: .timedOut, message: "\(rd_kafka_outq_len(rk)) messages still in flight after \(timeout)",
                    operation: "flush")
            }
            waitForProgress(milliseconds: min(remaining.kafkaMilliseconds, 100))
        }
    }

    /// Flushes (up to `timeout`), then destroys the client. Idempotent. Reports served during
    /// the flush stay buffered; collect them with `pollDeliveryReports` before closing.
    /// Must not race with `send`/`pollDeliveryReports` on other threads.
    public func close(timeout: Duration = .seconds(10)) {
        do {
            try flush(timeout: timeout)
        } catch {
            context.logger.warning("closing producer with undelivered messages: \(error)")
        }
        guard !closed.exchange(true, ordering: .acquiringAndReleasing) else { return }
        serveCondition.lock()
        let lost = serveState.buffered.count
        serveCondition.unlock()
        if lost > 0 { context.logger.warning("closing producer with \(lost) uncollected delivery reports") }
        let handles = topics.withLock { cache in
            defer { cache.removeAll() }
            return Array(cache.values)
        }
        for handle in handles { if let rkt = handle.rkt { rd_kafka_topic_destroy(rkt) } }
        rd_kafka_queue_destroy(mainQueue)
        rd_kafka_destroy(rk)
        withExtendedLifetime(handles) {}
    }

    // MARK: - Internals

    /// Lets delivery reports advance: serves them into the buffer if nobody else is serving
    /// (or if this thread is the one serving, i.e. we are inside its handler), otherwise waits
    /// for the serving thread to report progress. Bounded by `milliseconds`.
    private func waitForProgress(milliseconds: Int32) {
        serveCondition.lock()
        // Whether this call took the serving role (and must give it back). Nested inside this
        // thread's own `pollDeliveryReports` handler, the outer call keeps the role.
        let ownsRole: Bool
        if !serveState.serving {
            serveState.serving = true
            serveState.servingThread = pthread_self()
            ownsRole = true
        } else if pthread_equal(serveState.servingThread, pthread_self()) != 0 {
            ownsRole = false
        } else {
            let generation = serveState.generation
            let deadline = Date(timeIntervalSinceNow: Double(milliseconds) / 1000)
            while serveState.generation == generation, serveCondition.wait(until: deadline) {}
            serveCondition.unlock()
            return
        }
        serveCondition.unlock()

        var reports: [DeliveryReport] = []
        var waitMilliseconds = milliseconds
        // Take what is there now (bounded, so the sender gets back to sending) to free as many
        // slots as possible; wait only for the first event.
        for _ in 0..<64 {
            guard let event = rd_kafka_queue_poll(mainQueue, waitMilliseconds) else { break }
            waitMilliseconds = 0
            collect(event, into: &reports)
        }
        serveCondition.lock()
        serveState.buffered.append(contentsOf: reports)
        serveState.generation &+= 1
        if ownsRole { serveState.serving = false }
        serveCondition.broadcast()
        serveCondition.unlock()
    }

    /// Converts one event into reports (or logs it) and destroys it.
    private func collect(_ event: OpaquePointer, into reports: inout [DeliveryReport]) {
        defer { rd_kafka_event_destroy(event) }
        switch rd_kafka_event_type(event) {
        case RD_KAFKA_EVENT_DR:
            withUnsafeTemporaryAllocation(of: UnsafePointer<rd_kafka_message_t>?.self, capacity: 256) { chunk in
                while true {
                    let n = rd_kafka_event_message_array(event, chunk.baseAddress, chunk.count)
                    guard n > 0 else { return }
                    for i in 0..<n { reports.append(DeliveryReport(UnsafeMutablePointer(mutating: chunk[i]!))) }
                }
            }
        case RD_KAFKA_EVENT_ERROR:
            context.logError(rk, code: rd_kafka_event_error(event).rawValue, reason: rd_kafka_event_error_string(event))
        default:
            break
        }
    }

    /// Wraps a produce failure; a fatal one carries librdkafka's original fatal error.
    private func failure(consuming error: OpaquePointer, _ operation: String) -> KafkaError {
        guard rd_kafka_error_code(error) == RD_KAFKA_RESP_ERR__FATAL else { return KafkaError(consuming: error, operation) }
        rd_kafka_error_destroy(error)
        var errstr = [CChar](repeating: 0, count: 512)
        let original = rd_kafka_fatal_error(rk, &errstr, errstr.count)
        return KafkaError(
            code: KafkaError.Code(original), message: string(fromCBuffer: errstr), operation: operation, isFatal: true)
    }

    /// An empty non-null buffer, so an empty key/value is sent as empty rather than null.
    nonisolated(unsafe) private static let emptyBytes = UnsafeMutableRawPointer.allocate(byteCount: 1, alignment: 1)

    private static func memory(_ bytes: UnsafeRawBufferPointer?) -> rd_kafka_vu_s.__Unnamed_union_u.__Unnamed_struct_mem {
        guard let bytes else { return .init(ptr: nil, size: 0) }
        return .init(ptr: bytes.baseAddress.map { UnsafeMutableRawPointer(mutating: $0) } ?? emptyBytes, size: bytes.count)
    }

    private static func withOptionalBytes(_ bytes: [UInt8]?, _ body: (UnsafeRawBufferPointer?) -> Void) {
        guard let bytes else { return body(nil) }
        bytes.withUnsafeBytes { body($0) }
    }
}
