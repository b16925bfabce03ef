import Kafka
import TestSupport
import Testing

/// One client configuration for every role: what reaches which client, as librdkafka reports
/// it (`rd_kafka_conf_dump`), and that nothing is ignored with a CONFWARN line.
@Suite struct ClientConfigTests {
    static let clients: KafkaClientConfig = {
        var clients = KafkaClientConfig(
        common: [
            "bootstrap.servers": "", "security.protocol": "sasl_plaintext", "sasl.mechanism": "SCRAM-SHA-512",
            "sasl.username": "gate", "fetch.wait.max.ms": "77", "linger.ms": "33", "socket.keepalive.enable": "true",
        ],
        consumer: ["session.timeout.ms": "7000"],
        producer: ["batch.num.messages": "1234"])
        clients.common.setSecret("sasl.password", "s3cret-value")
        return clients
    }()

    /// librdkafka's CONFWARN lines, e.g. "Configuration property linger.ms is a producer property
    /// and will be ignored by this consumer instance".
    static func configurationWarnings(_ capture: LogCapture) -> [String] {
        capture.lines.filter { $0.metadata["rdkafka.facility"] == "CONFWARN" && $0.message.contains("Configuration property") }.map(\.message)
    }

    @Test func eachRoleGetsItsPropertiesAndNoConfigurationWarning() throws {
        let capture = LogCapture()
        let consumer = try KafkaConsumer(groupID: "g", properties: Self.clients.properties(for: .consumer), logger: capture.logger)
        let consumerConf = consumer.effectiveConfiguration
        consumer.close()
        let producer = try KafkaProducer(properties: Self.clients.properties(for: .producer), logger: capture.logger)
        let producerConf = producer.effectiveConfiguration
        producer.close(timeout: .zero)
        let admin = try KafkaAdmin(properties: Self.clients.properties(for: .admin), logger: capture.logger)
        let adminConf = admin.effectiveConfiguration

        for conf in [consumerConf, producerConf, adminConf] {
            #expect(conf["sasl.username"] == "gate")
            #expect(conf["sasl.mechanisms"] == "SCRAM-SHA-512")
            #expect(conf["security.protocol"] == "sasl_plaintext")
            #expect(conf["socket.keepalive.enable"] == "true")
        }
        #expect(consumerConf["fetch.wait.max.ms"] == "77")
        #expect(consumerConf["session.timeout.ms"] == "7000")
        #expect(producerConf["queue.buffering.max.ms"] == "33")  // linger.ms is its alias
        #expect(producerConf["batch.num.messages"] == "1234")
        // Not given to the other roles: their defaults remain.
        #expect(adminConf["queue.buffering.max.ms"] == "5" && adminConf["fetch.wait.max.ms"] == "500")
        #expect(Self.clients.properties(for: .producer)["fetch.wait.max.ms"] == nil)
        #expect(Self.clients.properties(for: .consumer)["linger.ms"] == nil)
        #expect(Self.clients.properties(for: .admin)["session.timeout.ms"] == nil)
        #expect(Self.configurationWarnings(capture) == [])
    }

    /// The capture does see CONFWARN lines: a deprecated property is one.
    @Test func warningsAreCapturedWhenThereAreAny() throws {
        let capture = LogCapture()
        _ = try KafkaAdmin(properties: ["bootstrap.servers": "", "topic.metadata.refresh.fast.cnt": "3"], logger: capture.logger)
        #expect(Self.configurationWarnings(capture).contains { $0.contains("topic.metadata.refresh.fast.cnt") })
    }

    @Test func scopesComeFromTheLinkedLibrary() {
        #expect(KafkaPropertyScope.of("linger.ms") == .producer)
        #expect(KafkaPropertyScope.of("acks") == .producer)
        #expect(KafkaPropertyScope.of("fetch.wait.max.ms") == .consumer)
        #expect(KafkaPropertyScope.of("auto.offset.reset") == .consumer)
        #expect(KafkaPropertyScope.of("sasl.password") == .any)
        #expect(KafkaPropertyScope.of("lingr.ms") == nil)
        #expect(KafkaClientConfig.builtinFeatures.contains("sasl_scram"))
    }

    @Test func issuesNameSectionAndPropertyAndNeverASecret() {
        var producer: KafkaProperties = ["lingr.ms": "5"]
        producer.setSecret("acks", "hunter2-secret")
        let clients = KafkaClientConfig(common: [:], consumer: ["linger.ms": "5"], producer: producer)
        let issues = clients.issues()
        #expect(issues.contains { $0.section == .producer && $0.property == "lingr.ms" && $0.problem == .unknownProperty })
        #expect(issues.contains { $0.section == .consumer && $0.property == "linger.ms" && $0.problem == .wrongRole(.producer) })
        let acks = issues.first { $0.property == "acks" }
        #expect(acks != nil)
        #expect(!"\(issues)".contains("hunter2-secret"))
    }

    @Test func clientCreationIsChecked() {
        let clients = KafkaClientConfig(common: ["security.protocol": "ssl", "ssl.ca.location": "/nonexistent/ca.pem"])
        let issues = clients.issues()
        #expect(issues.contains { if case .clientRefused = $0.problem { true } else { false } }, "\(issues)")
    }
}
