import Foundation
import TestSupport
import Testing

/// `consent-gate topics plan` as an operator without Strimzi runs it. deploy/check.sh compares
/// its output for the reference policy with deploy/kubernetes/strimzi; these cover the rest.
@Suite struct TopicsPlanTests {
    struct Topic: Decodable, Equatable {
        var name: String
        var role: String
        var partitions: Int
        var replicas: Int
        var config: [String: String]
    }

    func plan(_ config: String, format: String = "json") throws -> (status: Int32, stdout: String, stderr: String) {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("consent-gate-topics-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("policy.yaml").path
        try Data(config.utf8).write(to: URL(fileURLWithPath: path))
        return try runBinary(["topics", "plan", "--config", path, "--format", format])
    }

    func topics(_ config: String) throws -> [Topic] {
        let result = try plan(config)
        #expect(result.status == 0, "\(result.stderr)")
        return try JSONDecoder().decode([Topic].self, from: Data(result.stdout.utf8))
    }

    static let config = """
        kafka:
          ingestTopic: in
          deadLetterTopic: in.dlq
          suppressionTopic: state.suppressed
          subscriptionTopic: state.subscribed
          regulationTopic: regulations
          auditTopic: audit
          destinationTopicTemplate: "out.{id}"
        limits:
          maxEventBytes: 2000000
        categories: [Advertising]
        destinations:
          - id: ads
            categories: [Advertising]
          - id: archive
          - id: archive-copy
            topic: out.archive
          - id: crm
            topic: crm-events
        """

    @Test func listsEveryTopicOnceWithTheStateTopicsNeverTimeDeleted() throws {
        let topics = try topics(Self.config)
        #expect(topics.map(\.name) == ["in", "in.dlq", "state.suppressed", "state.subscribed", "regulations", "audit",
                                       "out.ads", "out.archive", "crm-events"])
        #expect(topics.map(\.role) == ["ingest", "dead-letter", "suppressions", "subscriptions", "regulations", "audit",
                                       "destination", "destination", "destination"])
        for topic in topics {
            #expect(topic.replicas == 3 && topic.config["min.insync.replicas"] == "2", "\(topic.name)")
            if topic.role == "suppressions" || topic.role == "subscriptions" {
                // Time-based deletion would let a suppressed user's events flow again.
                #expect(topic.config["cleanup.policy"] == "compact" && topic.config["retention.ms"] == "-1", "\(topic.name)")
                #expect(topic.config["min.compaction.lag.ms"] == "0" && topic.config["delete.retention.ms"] == "86400000")
            } else {
                #expect(topic.config["cleanup.policy"] == "delete", "\(topic.name)")
                #expect(Int(topic.config["retention.ms"] ?? "") ?? 0 > 0, "\(topic.name)")
            }
        }
        // Events up to limits.maxEventBytes, plus headers, must fit where events are produced.
        let sized = topics.filter { $0.config["max.message.bytes"] != nil }.map(\.name)
        #expect(sized == ["in", "in.dlq", "out.ads", "out.archive", "crm-events"])
        #expect(topics.first?.config["max.message.bytes"] == "2065536")
    }

    @Test func defaultsNeedNoMessageSizeAndNoAuditTopic() throws {
        let topics = try topics("destinations:\n  - id: s3\n")
        #expect(topics.map(\.name) == ["events.raw", "events.dlq", "consent.suppressions", "consent.subscriptions",
                                       "consent.regulations", "dest.s3"])
        #expect(topics.allSatisfy { $0.config["max.message.bytes"] == nil })
    }

    @Test func kafkaTopicsFormatPrintsOneCreateCommandPerTopic() throws {
        let result = try plan(Self.config, format: "kafka-topics")
        #expect(result.status == 0, "\(result.stderr)")
        let lines = result.stdout.split(separator: "\n").map(String.init)
        #expect(lines.count == 9)
        #expect(lines.allSatisfy { $0.hasPrefix("kafka-topics.sh --bootstrap-server \"${BOOTSTRAP:?") && $0.contains("--create --if-not-exists") })
        #expect(lines[2].contains("--topic state.suppressed --partitions 3 --replication-factor 3 --config cleanup.policy=compact --config retention.ms=-1"))
    }

    @Test func aBadConfigurationExitsTwoNamingTheKey() throws {
        let result = try plan("kafka:\n  ingestTopic: \"no spaces\"\ndestinations: []\n")
        #expect(result.status == 2)
        #expect(result.stderr.contains("kafka.ingestTopic"), "\(result.stderr)")
        #expect(result.stdout.isEmpty)
    }
}
