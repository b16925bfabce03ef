import ConsentConfig
import ConsentEngine
import Foundation
import Testing

@Suite struct ConfigurationTests {
    /// Example configurations, outside any target so SwiftPM does not treat them as resources.
    static let examples = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Examples")

    func parse(_ yaml: String) throws(ConfigurationError) -> Configuration {
        try Configuration.parse(yaml: yaml, file: "policy.yaml")
    }

    /// The error of a configuration that must not load.
    func loadError(_ yaml: String) -> ConfigurationError? {
        do {
            _ = try parse(yaml)
            return nil
        } catch {
            return error
        }
    }

    @Test func loadsEveryDocumentedKey() throws {
        let path = Self.examples.appendingPathComponent("full-policy.yaml").path
        let configuration = try Configuration.load(file: path)
        #expect(configuration.kafka.brokers == "kafka-0:9092,kafka-1:9092")
        #expect(configuration.kafka.consumer == ["fetch.min.bytes": "1", "enable.auto.commit": "false", "client.rack": "eu-1a"])
        #expect(configuration.kafka.producer.isEmpty)
        #expect(configuration.policy.limits == Limits(maxEventBytes: 32768, maxDepth: 64))
        #expect(configuration.policy.categories == ["Advertising", "Analytics", "Functional", "DataSharing"])
        #expect(configuration.policy.suppressionIdentifiers == [.userId, .email])
        #expect(configuration.policy.destinations == [
            Destination(id: "google-ads", categories: ["Advertising"], integrationName: "Google Ads", sale: true, topic: "dest.google-ads.v2"),
            Destination(id: "newsletter", channel: .email, subscriptionGroup: "Newsletter"),
            Destination(id: "amp", categories: ["Analytics", "Functional"], match: .any, missingConsent: .deny),
        ])
        #expect(configuration.admin.listen == ListenAddress(host: "127.0.0.1", port: 8080))
        #expect((0..<3).map(configuration.topic(forDestination:)) == ["dest.google-ads.v2", "dest.newsletter", "dest.amp"])
        _ = try CompiledPolicy(configuration.policy)
    }

    @Test func defaultsForOmittedKeysAndJSONInput() throws {
        let configuration = try parse(#"{"destinations": [{"id": "s3"}], "kafka": {"destinationTopicTemplate": "out-{id}-v1"}}"#)
        var expectedKafka = KafkaSettings()
        expectedKafka.destinationTopicTemplate = "out-{id}-v1"
        #expect(configuration.kafka == expectedKafka)
        #expect(configuration.kafka.groupId == "consent-gate" && configuration.kafka.ingestTopic == "events.raw")
        #expect(configuration.policy.limits == Limits())
        #expect(configuration.policy.suppressionIdentifiers == [.userId])
        #expect(configuration.policy.categories == nil)
        #expect(configuration.admin.listen.description == "127.0.0.1:8080")
        #expect(configuration.topic(forDestination: 0) == "out-s3-v1")
    }

    @Test func environmentOverridesBrokers() throws {
        let configuration = try parse("destinations: []")
        #expect(configuration.applyingEnvironment(["CONSENT_GATE_BROKERS": "b:1"]).kafka.brokers == "b:1")
        #expect(configuration.applyingEnvironment(["CONSENT_GATE_BROKERS": ""]).kafka.brokers == configuration.kafka.brokers)
        #expect(configuration.applyingEnvironment([:]) == configuration)
    }

    @Test(arguments: [
        ("destinations: []\nkafak: {}", "kafak", "unknown key 'kafak'"),
        ("destinations: []\nkafka: {broker: x}", "kafka.broker", "unknown key 'broker'"),
        ("destinations: []\nlimits: {maxBytes: 1}", "limits.maxBytes", "unknown key"),
        ("destinations: [{id: a, matc: all}]", "destinations[0].matc", "unknown key 'matc'"),
        ("destinations: [{id: a}, {id: b, match: some}]", "destinations[1].match", "expected one of all, any, got 'some'"),
        ("destinations: [{id: a, missingConsent: block}]", "destinations[0].missingConsent", "allow, deny"),
        ("destinations: [{id: a, channel: fax}]", "destinations[0].channel", "email, sms, whatsapp"),
        ("destinations: [{id: a}]\nsuppression: {identifiers: [userId, phone]}", "suppression.identifiers[1]", "got 'phone'"),
        ("destinations: [{id: a}]\nsuppression: {identifiers: []}", "suppression.identifiers", "at least one"),
        ("destinations: [{id: a, sale: yes please}]", "destinations[0].sale", "expected true or false"),
        ("destinations: [{id: a, enforceConsent: 1}]", "destinations[0].enforceConsent", "expected true or false"),
        ("destinations: [{id: a, categories: Advertising}]", "destinations[0].categories", "expected a list"),
        ("destinations: [{id: a}]\nlimits: {maxEventBytes: '32768'}", "limits.maxEventBytes", "expected an integer"),
        ("destinations: [{id: a}]\nlimits: {maxEventBytes: 0}", "limits.maxEventBytes", "positive"),
        ("destinations: [{id: a}]\nlimits: {maxDepth: 100000}", "limits.maxDepth", "at most 1024"),
        ("destinations: {id: a}", "destinations", "expected a list"),
        ("kafka: {}", "destinations", "required key is missing"),
        ("destinations: [{categories: [A]}]", "destinations[0].id", "required key is missing"),
        ("destinations: [{id: 'has space'}]", "destinations[0].id", "must match [A-Za-z0-9._-]+"),
        ("destinations: [{id: a}, {id: b}, {id: a}]", "destinations[2].id", "duplicate destination id 'a' (first at destinations[0])"),
        ("categories: [Advertising]\ndestinations: [{id: a, categories: [Advertising, Analytics]}]", "destinations[0].categories[1]", "unknown category 'Analytics'"),
        ("destinations: [{id: a, subscriptionGroup: News}]", "destinations[0].subscriptionGroup", "requires channel"),
        ("destinations: [{id: a}]\nkafka: {destinationTopicTemplate: 'dest.all'}", "kafka.destinationTopicTemplate", "must contain {id}"),
        ("destinations: [{id: a}]\nkafka: {destinationTopicTemplate: 'dest/{id}'}", "kafka.destinationTopicTemplate", "invalid topic name"),
        ("destinations: [{id: a, topic: 'no spaces'}]", "destinations[0].topic", "invalid topic name"),
        ("destinations: [{id: a}]\nkafka: {consumer: {fetch.min.bytes: [1]}}", "kafka.consumer.fetch.min.bytes", "string, number or boolean"),
        ("destinations: [{id: a}]\nkafka: {ingestTopic: true}", "kafka.ingestTopic", "expected a string, found boolean"),
        ("destinations: [{id: a}]\nadmin: {listen: 'localhost'}", "admin.listen", "invalid listen address"),
        ("destinations: [{id: a}]\nadmin: {listen: '127.0.0.1:99999'}", "admin.listen", "invalid listen address"),
        ("destinations: [{id: a}]\nadmin: {listen: 'bad host:80'}", "admin.listen", "invalid listen address"),
    ])
    func errorNamesFileKeyPathAndProblem(yaml: String, keyPath: String, problem: String) {
        guard let error = loadError(yaml) else {
            Issue.record("accepted: \(yaml)")
            return
        }
        #expect(error.issues.contains { $0.keyPath == keyPath }, "\(error)")
        let message = error.description
        #expect(message.hasPrefix("policy.yaml"), "\(message)")
        #expect(message.contains(": \(keyPath): "), "\(message)")
        #expect(message.contains(problem), "\(message)")
    }

    @Test func errorsCarryLineNumbersAndAllAreCollected() throws {
        let yaml = """
            destinations:
              - id: a
                match: some
              - id: b
                sael: true
            """
        let error = try #require(loadError(yaml))
        #expect(error.issues.map(\.keyPath) == ["destinations[0].match", "destinations[1].sael"])
        #expect(error.description.contains("policy.yaml:3: destinations[0].match"))
        #expect(error.description.contains("policy.yaml:5: destinations[1].sael"))
    }

    @Test func syntaxAndDuplicateYAMLKeysAreErrors() {
        #expect(loadError("destinations: [").map { $0.description.hasPrefix("policy.yaml: not valid YAML") } == true)
        #expect(loadError("destinations: []\ndestinations: []") != nil)
        #expect(loadError("").map { $0.description.contains("empty document") } == true)
        #expect(loadError("- a\n- b").map { $0.description.contains("expected a mapping") } == true)
    }

    @Test func unreadableFileNamesIt() {
        do {
            _ = try Configuration.load(file: "/nonexistent/policy.yaml")
            Issue.record("loaded a missing file")
        } catch {
            #expect(error.description.hasPrefix("/nonexistent/policy.yaml: cannot read file"))
        }
    }

    @Test func listenAddresses() {
        #expect(ListenAddress(parsing: "0.0.0.0:9090") == ListenAddress(host: "0.0.0.0", port: 9090))
        #expect(ListenAddress(parsing: ":8080") == ListenAddress(host: "", port: 8080))
        #expect(ListenAddress(parsing: "[::1]:8080") == ListenAddress(host: "[::1]", port: 8080))
        #expect(ListenAddress(parsing: "metrics.internal:80")?.host == "metrics.internal")
        for bad in ["8080", "host:", "host:x", "host:65536", "[::1:80", "a..b:80", "-a:80"] {
            #expect(ListenAddress(parsing: bad) == nil, "\(bad)")
        }
    }

    @Test func tooManyDestinationsIsAnErrorNotATruncation() {
        let ids = (0...DestinationSet.capacity).map { "{id: d\($0)}" }.joined(separator: ", ")
        let error = loadError("destinations: [\(ids)]")
        #expect(error?.description.contains("destinations: 257 destinations configured, at most 256") == true)
    }
}
