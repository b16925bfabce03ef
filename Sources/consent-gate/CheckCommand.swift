import ArgumentParser
import ConsentConfig
import ConsentEngine
import Foundation

/// `consent-gate check`: decides a file of events offline with the worker's engine
/// (config.md), one JSON line out per line in.
struct CheckCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Decide events offline: one JSON line per input line with deliver/drop per destination.",
        discussion: """
            Exit status 0 when every line was decided (invalid lines included), 2 for a bad \
            configuration or unreadable input.
            """
    )

    @Option(name: .long, help: "Configuration file (YAML or JSON).")
    var config: String

    @Option(name: .long, help: "File with one suppressed subject id per line.")
    var suppressions: String?

    @Flag(
        name: .long,
        help: """
            Add "notGranted": {destination: [...]} to decided lines: per dropped destination, what was \
            not granted (category ids, tcf:purpose:3, google:ad_user_data, us:sale, ...).
            """)
    var explain = false

    @Argument(help: "Events, one JSON object per line; '-' or omitted reads standard input.")
    var events: String?

    func run() async throws {
        // `check` decides offline (CONSENT_GATE_BROKERS changes nothing here), but validates the
        // whole file, kafka.* included, exactly as `run` does.
        let loaded = CommandSupport.loadConfiguration(config)
        let (configuration, policy) = (loaded.configuration, loaded.policy)
        do {
            try check(policy, suppressions: CommandSupport.loadSuppressions(suppressions, identifiers: configuration.policy.suppressionIdentifiers))
        } catch {
            CommandSupport.exit(2, "\(error)")
        }
    }

    private func check(_ policy: CompiledPolicy, suppressions suppressed: Suppressions) throws {
        let input = try LineReader(path: events)
        let decider = Decider(policy: policy)
        var subscriptions = SubscriptionStore()
        var output = DecisionWriter(policy: policy, explain: explain)
        var lineNumber = 0
        try input.forEachLine(maxLineBytes: policy.limits.maxEventBytes) { line in
            lineNumber += 1
            switch line {
            case .tooLong:
                output.writeInvalid(line: lineNumber, reason: .tooLarge)
            case .text(let bytes):
                switch decider.decide(bytes, suppressions: suppressed, subscriptions: &subscriptions) {
                case .invalid(let reason):
                    output.writeInvalid(line: lineNumber, reason: reason)
                case .suppressedInvalid(let reason):
                    output.writeInvalid(line: lineNumber, reason: reason, suppressed: true)
                case .routed(let decision):
                    output.write(decision, messageId: decider.lastEvent.messageId?.bytes, decider: decider)
                }
            }
        }
        output.flush()
    }
}

/// Buffers output lines and writes them to standard output in large chunks.
struct DecisionWriter {
    private let policy: CompiledPolicy
    /// Destination indices ordered by id, so `deliver` comes out sorted.
    private let sortedIndices: [Int]
    /// Each destination id as a JSON string literal.
    private let quotedIds: [[UInt8]]
    private let explain: Bool
    private var buffer: [UInt8] = []
    private static let flushThreshold = 1 << 16

    init(policy: CompiledPolicy, explain: Bool = false) {
        self.policy = policy
        self.explain = explain
        sortedIndices = policy.destinations.indices.sorted { policy.destinations[$0].id.utf8.lexicographicallyPrecedes(policy.destinations[$1].id.utf8) }
        quotedIds = policy.destinations.map { destination in
            var quoted: [UInt8] = []
            Array(destination.id.utf8).withUnsafeBytes { appendJSONString($0, to: &quoted) }
            return quoted
        }
        buffer.reserveCapacity(Self.flushThreshold * 2)
    }

    /// `suppressed`: the subject is suppressed, so the worker drops the event instead of
    /// dead-lettering it.
    mutating func writeInvalid(line: Int, reason: InvalidReason, suppressed: Bool = false) {
        append("{\"line\":\(line),\"invalid\":\"\(reason.code)\"\(suppressed ? ",\"suppressed\":true" : "")}\n")
        flushIfFull()
    }

    /// One decided line; with `explain`, `decider` (which decided it) names what was not granted.
    mutating func write(_ decision: Decision, messageId: UnsafeRawBufferPointer?, decider: Decider) {
        append("{\"messageId\":")
        if let messageId {
            appendJSONString(messageId, to: &buffer)
        } else {
            append("null")
        }
        append(",\"deliver\":[")
        var first = true
        for index in sortedIndices where decision.deliver.contains(index) {
            if !first { buffer.append(UInt8(ascii: ",")) }
            first = false
            buffer.append(contentsOf: quotedIds[index])
        }
        append("],\"drop\":{")
        first = true
        for index in sortedIndices {
            guard let reason = decision.dropReason(forDestination: index) else { continue }
            if !first { buffer.append(UInt8(ascii: ",")) }
            first = false
            buffer.append(contentsOf: quotedIds[index])
            append(":\"\(reason.code)\"")
        }
        append("}")
        if explain { writeNotGranted(decision, decider: decider) }
        append("}\n")
        flushIfFull()
    }

    private mutating func writeNotGranted(_ decision: Decision, decider: Decider) {
        append(",\"notGranted\":{")
        var first = true
        for index in sortedIndices {
            guard let reason = decision.dropReason(forDestination: index) else { continue }
            let names = decider.notGranted(destination: index, reason: reason, in: decision)
            guard !names.isEmpty else { continue }
            if !first { buffer.append(UInt8(ascii: ",")) }
            first = false
            buffer.append(contentsOf: quotedIds[index])
            append(":[")
            for (i, name) in names.enumerated() {
                if i > 0 { buffer.append(UInt8(ascii: ",")) }
                Array(name.utf8).withUnsafeBytes { appendJSONString($0, to: &buffer) }
            }
            append("]")
        }
        append("}")
    }

    mutating func flush() {
        buffer.withUnsafeBytes { bytes in
            var offset = 0
            while offset < bytes.count {
                let written = Foundation.write(STDOUT_FILENO, bytes.baseAddress! + offset, bytes.count - offset)
                if written < 0 && errno == EINTR { continue }
                guard written > 0 else { return }
                offset += written
            }
        }
        buffer.removeAll(keepingCapacity: true)
    }

    private mutating func flushIfFull() {
        if buffer.count >= Self.flushThreshold { flush() }
    }

    private mutating func append(_ text: String) {
        buffer.append(contentsOf: text.utf8)
    }
}
