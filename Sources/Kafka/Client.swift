import CRdKafka
import Logging

/// State shared with librdkafka's C callbacks through the client's `opaque` pointer. The owner of
/// the `rd_kafka_t` keeps it alive until after `rd_kafka_destroy`, so callbacks never see it freed.
/// `@unchecked Sendable`: the logger is immutable and Sendable; subclasses document their fields.
class ClientContext: @unchecked Sendable {
    let logger: Logger

    init(logger: Logger) { self.logger = logger }

    static func from(_ rk: OpaquePointer?) -> ClientContext {
        Unmanaged<ClientContext>.fromOpaque(rd_kafka_opaque(rk)!).takeUnretainedValue()
    }

    /// Creates a client handle: applies `properties`, routes librdkafka's log lines and error
    /// callbacks to `logger`, lets `configure` add callbacks, then calls `rd_kafka_new`.
    func makeClient(
        _ type: rd_kafka_type_t,
        properties: KafkaProperties,
        configure: (OpaquePointer) -> Void = { _ in }
    ) throws(KafkaConfigurationError) -> OpaquePointer {
        let conf = rd_kafka_conf_new()!
        // librdkafka would ignore the other kind's properties with a CONFWARN line each.
        let role: KafkaClientRole = type == RD_KAFKA_CONSUMER ? .consumer : .producer
        let applicable = properties.filtered(for: role)
        for name in properties.names where applicable[name] == nil {
            logger.debug("not applying Kafka property \(name) to a \(role) client: it does not apply there")
        }
        do {
            try applicable.apply(to: conf)
        } catch {
            rd_kafka_conf_destroy(conf)
            throw error
        }
        rd_kafka_conf_set_opaque(conf, Unmanaged.passUnretained(self).toOpaque())
        rd_kafka_conf_set_log_cb(conf) { rk, level, facility, line in
            // Called on librdkafka's threads; the logger is Sendable.
            let context = ClientContext.from(rk)
            let logLevel: Logger.Level =
                switch level {
                case ...2: .critical
                case 3: .error
                case 4: .warning
                case 5: .notice
                case 6: .info
                default: .debug
                }
            context.logger.log(
                level: logLevel, "\(String(cString: line!))",
                metadata: ["rdkafka.facility": "\(String(cString: facility!))"])
        }
        configure(conf)
        var errstr = [CChar](repeating: 0, count: 512)
        guard let rk = rd_kafka_new(type, conf, &errstr, errstr.count) else {
            rd_kafka_conf_destroy(conf)
            throw .clientCreationFailed(reason: string(fromCBuffer: errstr))
        }
        return rk
    }

    /// Sets an error callback that logs client-level errors (broker down, authentication, ...)
    /// and names the original error of fatal ones.
    static func setLoggingErrorCallback(_ conf: OpaquePointer) {
        rd_kafka_conf_set_error_cb(conf) { rk, err, reason, _ in
            let context = ClientContext.from(rk)
            context.logError(rk, code: err, reason: reason)
        }
    }

    func logError(_ rk: OpaquePointer?, code: Int32, reason: UnsafePointer<CChar>?) {
        let error = KafkaError.Code(rawValue: code)
        if error == .fatal {
            var errstr = [CChar](repeating: 0, count: 512)
            let original = rd_kafka_fatal_error(rk, &errstr, errstr.count)
            logger.critical(
                "fatal Kafka error, client unusable: \(KafkaError.Code(original).name): \(string(fromCBuffer: errstr))")
        } else {
            // librdkafka retries these itself and most also appear as its own log line (e.g.
            // connection failures at error level), so this one stays quiet.
            logger.info("Kafka client error: \(error.name): \(reason.map { String(cString: $0) } ?? "")")
        }
    }
}

/// The configuration client `rk` runs with, as `rd_kafka_conf_dump` reports it: every global
/// property (defaults included) and the default topic properties (`acks`, `auto.offset.reset`,
/// ...). For tests and diagnostics; librdkafka may already have wiped sensitive values.
func effectiveConfiguration(of rk: OpaquePointer) -> [String: String] {
    guard let conf = rd_kafka_conf_dup(rd_kafka_conf(rk)) else { return [:] }
    defer { rd_kafka_conf_destroy(conf) }
    var result: [String: String] = [:]
    func collect(_ dump: UnsafeMutablePointer<UnsafePointer<CChar>?>?, _ count: Int) {
        guard let dump else { return }
        defer { rd_kafka_conf_dump_free(dump, count) }
        for i in stride(from: 0, to: count - 1, by: 2) {
            guard let name = dump[i], let value = dump[i + 1] else { continue }
            result[String(cString: name)] = String(cString: value)
        }
    }
    var count = 0
    if let topicConf = rd_kafka_conf_get_default_topic_conf(conf) {
        let dump = rd_kafka_topic_conf_dump(topicConf, &count)
        collect(dump, count)
    }
    let dump = rd_kafka_conf_dump(conf, &count)
    collect(dump, count)
    return result
}

extension Duration {
    /// Milliseconds for librdkafka timeouts, rounded up so a tiny timeout is not "no wait",
    /// and clamped to Int32.
    var kafkaMilliseconds: Int32 {
        let (seconds, attoseconds) = components
        let ms = seconds * 1000 + (attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000
        return Int32(clamping: max(ms, 0))
    }
}

/// The NUL-terminated string librdkafka wrote into an error buffer.
func string(fromCBuffer buffer: [CChar]) -> String {
    buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
}
