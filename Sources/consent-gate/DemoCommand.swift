import ArgumentParser
import ConsentConfig
import ConsentEngine
import ConsentWorker
import Foundation
import Kafka
import Logging
import Metrics
import ServiceLifecycle

/// `consent-gate demo`: the whole product on one machine. Starts an embedded mock Kafka
/// cluster, loads the example workspace, runs the real worker pipeline against it and shows
/// what reached which destination and why the rest was dropped.
struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Run the worker on an embedded Kafka with the example policy and events.",
        discussion: """
            Creates the topics on an in-process mock cluster, produces the sample events (and \
            --events N generated ones), routes them with the same pipeline as `run`, shows a \
            live table and ends with a summary checked against the destination topics.
            """
    )

    @Option(name: .long, help: "Policy file.")
    var config = "examples/policy.yaml"

    @Option(name: .customLong("sample"), help: "Sample events, one JSON object per line.")
    var sample = "examples/events.jsonl"

    @Option(name: .long, help: "Suppressed subjects, one per line.")
    var suppressions = "examples/suppressions.txt"

    @Option(name: .long, help: "Generated events to add to the sample.")
    var events = 20_000

    @Option(name: .long, help: "Partitions of the ingest topic.")
    var partitions = 8

    func run() async throws {
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = .warning
            return handler
        }
        let metrics = DemoMetrics()
        MetricsSystem.bootstrap(metrics)
        let logger = Logger(label: "consent-gate.demo")

        for path in [config, sample] where access(path, R_OK) != 0 {
            let reason = String(cString: strerror(errno))
            CommandSupport.exit(
                2, "demo: \(path): \(reason). Run the demo from the repository root, or pass --config, --sample and --suppressions.")
        }
        let loaded = CommandSupport.loadConfiguration(config)
        let (configuration, policy) = (loaded.configuration, loaded.policy)
        let suppressed: Suppressions
        let sampleLines: [String]
        do {
            suppressed = try CommandSupport.loadSuppressions(suppressions, identifiers: configuration.policy.suppressionIdentifiers)
            sampleLines = try InputError.readFile(sample).split(separator: "\n").map(String.init)
        } catch {
            CommandSupport.exit(2, "demo: \(error)")
        }
        let destinationTopics = policy.destinations.indices.map(configuration.topic(forDestination:))
        let kafka = configuration.kafka

        print("consent-gate demo: starting an embedded Kafka (librdkafka mock cluster)…")
        let cluster = try MockCluster(brokers: 1)
        defer { cluster.shutdown() }
        try cluster.createTopic(name: kafka.ingestTopic, partitions: partitions)
        try cluster.createTopic(name: kafka.deadLetterTopic, partitions: 2)
        try cluster.createTopic(name: kafka.subscriptionTopic, partitions: partitions)
        try cluster.createTopic(name: kafka.suppressionTopic, partitions: 1)
        for topic in Set(destinationTopics) { try cluster.createTopic(name: topic, partitions: 4) }

        var generator = DemoEventGenerator(seed: 42)
        let allEvents = sampleLines.map(DemoEvent.init(line:)) + (0..<max(0, events)).map { generator.next($0) }
        print("producing \(sampleLines.count) sample events from \(sample) and \(max(0, events)) generated ones to \(kafka.ingestTopic)…")
        try produce(allEvents, to: kafka.ingestTopic, bootstrap: cluster.bootstrapServers)

        var settings = WorkerSettings(
            brokers: cluster.bootstrapServers, groupID: kafka.groupId, ingestTopic: kafka.ingestTopic,
            deadLetterTopic: kafka.deadLetterTopic, subscriptionTopic: kafka.subscriptionTopic,
            replicaID: "demo", clients: loaded.clients)
        settings.commitInterval = .milliseconds(200)
        let state = RoutingState(policy: policy, destinationTopics: destinationTopics, suppressions: suppressed)
        let worker = RoutingWorker(settings: settings, state: state, logger: logger)
        let board = DemoBoard(
            policy: policy, metrics: metrics, total: allEvents.count, group: kafka.groupId,
            ingestTopic: kafka.ingestTopic, bootstrap: cluster.bootstrapServers)
        let group = ServiceGroup(
            configuration: .init(
                services: [
                    .init(service: worker),
                    .init(service: board, successTerminationBehavior: .gracefullyShutdownGroup),
                ],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger))
        let started = ContinuousClock.now
        try await group.run()
        let elapsed = ContinuousClock.now - started

        print(board.render(final: true))
        try printVerification(destinationTopics: destinationTopics, policy: policy, configuration: configuration, bootstrap: cluster.bootstrapServers)
        printSampleStories(sampleLines, policy: policy, suppressed: suppressed)
        print("routed \(allEvents.count) events in \(elapsed.formatted(.units(allowed: [.seconds], fractionalPart: .show(length: 1)))) (including ~3 s consumer-group join).")
    }

    /// Produces the events keyed by subject, waiting for every acknowledgement.
    private func produce(_ events: [DemoEvent], to topic: String, bootstrap: String) throws {
        let producer = try KafkaProducer(properties: ["bootstrap.servers": bootstrap, "linger.ms": "5"])
        defer { producer.close() }
        var acknowledged = 0
        for event in events {
            try Array(event.key.utf8).withUnsafeBytes { key in
                try Array(event.value.utf8).withUnsafeBytes { value in
                    try producer.send(topic: topic, key: key, value: value)
                }
            }
            acknowledged += producer.pollDeliveryReports { _ in }
        }
        let deadline = ContinuousClock.now + .seconds(60)
        while acknowledged < events.count, ContinuousClock.now < deadline {
            acknowledged += producer.pollDeliveryReports(timeout: .milliseconds(100)) { _ in }
        }
    }

    /// Cross-checks the counters with what the broker holds.
    private func printVerification(
        destinationTopics: [String], policy: CompiledPolicy, configuration: Configuration, bootstrap: String
    ) throws {
        let admin = try KafkaAdmin(properties: ["bootstrap.servers": bootstrap])
        print("\nWhat the destination topics hold now (read back from the broker):")
        for (index, topic) in destinationTopics.enumerated() {
            let count = try admin.watermarks(topic: topic, timeout: .seconds(5)).reduce(0) { $0 + $1.high }
            print("  \(policy.destinations[index].id.padding(toLength: 16, withPad: " ", startingAt: 0)) \(topic.padding(toLength: 24, withPad: " ", startingAt: 0)) \(count) messages")
        }
        let dead = try admin.watermarks(topic: configuration.kafka.deadLetterTopic, timeout: .seconds(5)).reduce(0) { $0 + $1.high }
        print("  dead letters     \(configuration.kafka.deadLetterTopic.padding(toLength: 24, withPad: " ", startingAt: 0)) \(dead) messages")
    }

    /// One line per sample event: where it went and why not elsewhere — decided offline by
    /// the same engine, in file order, so it matches what the worker did.
    private func printSampleStories(_ lines: [String], policy: CompiledPolicy, suppressed: Suppressions) {
        print("\nThe sample events, one by one:")
        let decider = Decider(policy: policy)
        var subscriptions = SubscriptionStore()
        for (number, line) in lines.enumerated() {
            let outcome = Array(line.utf8).withUnsafeBytes { decider.decide($0, suppressions: suppressed, subscriptions: &subscriptions) }
            let event = DemoEvent(line: line)
            let label = "\(number + 1).".padding(toLength: 4, withPad: " ", startingAt: 0) + event.summary
            switch outcome {
            case .invalid(let reason):
                print("  \(label)\n       → dead-letter topic: \(reason.code)")
            case .suppressedInvalid(let reason):
                print("  \(label)\n       → dropped everywhere, suppressed subject (invalid: \(reason.code); not dead-lettered)")
            case .routed(let decision):
                let delivered = decision.deliver.map { policy.destinations[$0].id }.sorted()
                var drops: [String: [String]] = [:]
                for index in policy.destinations.indices {
                    guard let reason = decision.dropReason(forDestination: index) else { continue }
                    var text = policy.destinations[index].id
                    let missing = decider.notGranted(destination: index, reason: reason, in: decision)
                    if !missing.isEmpty { text += " (no \(missing.joined(separator: "+")))" }
                    drops[reason.code, default: []].append(text)
                }
                print("  \(label)\n       → delivered to \(delivered.isEmpty ? "nobody" : delivered.joined(separator: ", "))")
                for (reason, destinations) in drops.sorted(by: { $0.key < $1.key }) {
                    print("         dropped [\(reason)]: \(destinations.joined(separator: ", "))")
                }
            }
        }
    }
}

/// An event to preload: its key (the subject) and its JSON text.
struct DemoEvent {
    let key: String
    let value: String
    let summary: String

    init(key: String, value: String, summary: String) {
        self.key = key
        self.value = value
        self.summary = summary
    }

    /// Keys a sample line by its userId (or anonymousId), as Segment's sources do.
    init(line: String) {
        let object = (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any]
        let subject = (object?["userId"] as? String) ?? (object?["anonymousId"] as? String) ?? ""
        let kind = [object?["type"] as? String, object?["event"] as? String].compactMap { $0 }.joined(separator: " ")
        self.init(key: subject, value: line, summary: object == nil ? "(malformed JSON)" : "\(kind.isEmpty ? "(no type)" : kind) from \(subject.isEmpty ? "nobody" : subject)")
    }
}

/// Deterministic Segment-style traffic in the shape of ../shared/bench/gen_events.py, with
/// the example policy's categories: most events carry consent, some do not, a few are invalid.
struct DemoEventGenerator {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    private mutating func random() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    private mutating func chance(_ percent: UInt64) -> Bool { random() % 100 < percent }

    mutating func next(_ index: Int) -> DemoEvent {
        let user = "user-\(random() % 5_000)"
        let id = "gen-\(index)"
        if chance(1) {
            return DemoEvent(key: user, value: #"{"type":"track","messageId":"\#(id)",broken"#, summary: "")
        }
        var context = [#""ip":"203.0.113.\#(random() % 254 + 1)""#, #""traits":{"email":"\#(user)@example.com"}"#]
        if !chance(5) {
            let categories = ["Advertising", "Analytics", "Functional", "DataSharing"].map { "\"\($0)\":\(chance(70))" }
            context.append(#""consent":{"categoryPreferences":{\#(categories.joined(separator: ","))}}"#)
        }
        if chance(2) { context.append(#""gpc":true"#) }
        let body: String
        switch random() % 10 {
        case 0:
            let status = chance(60) ? "SUBSCRIBED" : "UNSUBSCRIBED"
            context.append(
                #""messaging_subscriptions":[{"key":"\#(user)@example.com","type":"EMAIL","status":"\#(status)","groups":[{"name":"Newsletter","status":"\#(status)"}]}]"#)
            body = #""type":"identify","traits":{"email":"\#(user)@example.com"}"#
        case 1, 2:
            body = #""type":"page","name":"Checkout","properties":{"path":"/checkout"}"#
        default:
            body = #""type":"track","event":"Order Completed","properties":{"revenue":\#(random() % 200),"currency":"USD"}"#
        }
        let value = #"{\#(body),"messageId":"\#(id)","userId":"\#(user)","context":{\#(context.joined(separator: ","))}}"#
        return DemoEvent(key: user, value: value, summary: "")
    }
}

/// The live table: redrawn while the worker routes; finishes (and so stops the demo) once the
/// consumer group has committed everything that was produced.
struct DemoBoard: Service {
    let policy: CompiledPolicy
    let metrics: DemoMetrics
    let total: Int
    let group: String
    let ingestTopic: String
    let bootstrap: String

    func run() async throws {
        let interactive = isatty(STDOUT_FILENO) == 1
        let deadline = ContinuousClock.now + .seconds(300)
        var lastPrint = ContinuousClock.now
        while ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(250))
            let lag = (try? await laggingMessages()) ?? Int64(total)
            if interactive {
                print("\u{1B}[H\u{1B}[2J" + render(final: false, lag: lag))
            } else if ContinuousClock.now - lastPrint >= .seconds(2) {
                print("… consumed \(metrics.read("consent_gate_events_consumed_total")) of \(total), lag \(lag)")
                lastPrint = .now
            }
            if lag == 0, metrics.read("consent_gate_events_consumed_total") >= Int64(total) { return }
        }
        print("demo: gave up waiting for the worker to finish after 300 s")
    }

    /// Messages produced to the ingest topic and not yet committed by the worker's group.
    private func laggingMessages() async throws -> Int64 {
        let bootstrap = self.bootstrap, group = self.group, topic = ingestTopic
        return try await withCheckedThrowingContinuation { continuation in
            Thread {
                continuation.resume(with: Result {
                    let admin = try KafkaAdmin(properties: ["bootstrap.servers": bootstrap])
                    return try admin.lag(group: group, topic: topic, timeout: .seconds(2)).reduce(0) { $0 + $1.lag }
                })
            }.start()
        }
    }

    func render(final: Bool, lag: Int64 = 0) -> String {
        let reasons = DropReason.allCases
        var lines: [String] = []
        let consumed = metrics.read("consent_gate_events_consumed_total")
        lines.append(final ? "\nSummary" : "consent-gate demo — routing \(total) events (Ctrl-C stops)")
        lines.append("consumed \(consumed)   lag \(lag)   dead-lettered \(deadLetters())")
        let header = "destination".padding(toLength: 16, withPad: " ", startingAt: 0) + pad("delivered")
            + reasons.map { pad($0 == .consentMissing ? "no_consent" : $0.code) }.joined()
        lines.append(header)
        lines.append(String(repeating: "─", count: header.count))
        for destination in policy.destinations {
            var row = destination.id.padding(toLength: 16, withPad: " ", startingAt: 0)
            row += pad(String(metrics.read("consent_gate_events_delivered_total", [("destination", destination.id)])))
            for reason in reasons {
                let count = metrics.read("consent_gate_events_dropped_total", [("destination", destination.id), ("reason", reason.code)])
                row += pad(count == 0 ? "·" : String(count))
            }
            lines.append(row)
        }
        let byReason = InvalidReason.allCases.compactMap { reason -> String? in
            let count = metrics.read("consent_gate_events_dead_lettered_total", [("reason", reason.code)])
            return count == 0 ? nil : "\(reason.code) \(count)"
        }
        if !byReason.isEmpty { lines.append("dead letters by reason: " + byReason.joined(separator: ", ")) }
        lines.append("(no_consent = consent_missing: the event carried no consent object and the destination requires one)")
        return lines.joined(separator: "\n")
    }

    private func deadLetters() -> Int64 {
        InvalidReason.allCases.reduce(0) { $0 + metrics.read("consent_gate_events_dead_lettered_total", [("reason", $1.code)]) }
    }

    private func pad(_ text: String) -> String {
        String(repeating: " ", count: max(1, 12 - text.count)) + text
    }
}
