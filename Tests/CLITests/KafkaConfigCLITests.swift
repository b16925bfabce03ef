import Foundation
import TestSupport
import Testing

/// `check` validates kafka.* as `run` does; references resolve from the environment and files,
/// and neither a secret value nor a Foundation error dump reaches the output.
@Suite struct KafkaConfigCLITests {
    func write(_ contents: String, name: String = "policy.yaml") throws -> String {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("consent-gate-kafka-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let path = directory.appendingPathComponent(name).path
        try Data(contents.utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    func config(_ kafka: String) -> String {
        "kafka:\n" + kafka + "\ndestinations:\n  - id: s3\n"
    }

    @Test func checkRejectsAnUnknownProducerProperty() throws {
        let path = try write(config("  producer:\n    lingr.ms: 5"))
        let result = try runBinary(["check", "--config", path], stdin: Data())
        #expect(result.status == 2)
        #expect(result.stderr.contains("kafka.producer.lingr.ms"), "\(result.stderr)")
        #expect(result.stderr.contains("unknown librdkafka property"), "\(result.stderr)")
    }

    @Test func checkRejectsAPropertyOfTheOtherRole() throws {
        let path = try write(config("  consumer:\n    linger.ms: 5"))
        let result = try runBinary(["check", "--config", path], stdin: Data())
        #expect(result.status == 2)
        #expect(result.stderr.contains("kafka.consumer.linger.ms: a producer property"), "\(result.stderr)")
    }

    @Test func checkAcceptsOneClientSectionForAllRoles() throws {
        let path = try write(config("""
              client:
                security.protocol: sasl_ssl
                sasl.mechanism: SCRAM-SHA-512
                sasl.username: gate
                sasl.password: ${env:CG_TEST_KAFKA_PASSWORD}
                linger.ms: 20
                fetch.wait.max.ms: 100
            """))
        let result = try runBinary(["check", "--config", path], environment: ["CG_TEST_KAFKA_PASSWORD": "pw-\(UUID().uuidString)"], stdin: Data())
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stderr == "")
    }

    @Test func anUnsetVariableOrUnreadableFileNamesTheKey() throws {
        let path = try write(config("""
              client:
                sasl.password: ${env:CG_TEST_UNSET_VARIABLE}
                ssl.key.password: ${file:/nonexistent/secret}
            """))
        let result = try runBinary(["check", "--config", path], stdin: Data())
        #expect(result.status == 2)
        #expect(result.stderr.contains("kafka.client.sasl.password: environment variable CG_TEST_UNSET_VARIABLE is not set"), "\(result.stderr)")
        #expect(result.stderr.contains("kafka.client.ssl.key.password: cannot read /nonexistent/secret: No such file or directory"), "\(result.stderr)")
        #expect(!result.stderr.contains("NSCocoaErrorDomain"))
    }

    @Test func aSecretNeverAppearsInAnError() throws {
        let secret = "s3cret-\(UUID().uuidString)"
        let secretFile = try write(secret + "\n", name: "mechanism")
        // A secret in a property that refuses it: the error names the key, not the value.
        let path = try write(config("  client:\n    sasl.mechanism: ${file:\(secretFile)}\n    security.protocol: ${env:CG_TEST_PROTOCOL}"))
        let result = try runBinary(["check", "--config", path], environment: ["CG_TEST_PROTOCOL": secret], stdin: Data())
        #expect(result.status == 2)
        #expect(result.stderr.contains("kafka.client.security.protocol"), "\(result.stderr)")
        #expect(!result.stderr.contains(secret), "\(result.stderr)")
    }

    @Test func anAdminTokenReference() throws {
        let path = try write("admin:\n  token: ${env:CG_TEST_UNSET_TOKEN}\ndestinations: []\n")
        let result = try runBinary(["check", "--config", path], stdin: Data())
        #expect(result.status == 2)
        #expect(result.stderr.contains("admin.token: environment variable CG_TEST_UNSET_TOKEN is not set"), "\(result.stderr)")
        let malformed = try write("admin:\n  token: ${ENV:X}\ndestinations: []\n")
        let bad = try runBinary(["check", "--config", malformed], stdin: Data())
        #expect(bad.status == 2 && bad.stderr.contains("admin.token: invalid reference"), "\(bad.stderr)")
    }
}
