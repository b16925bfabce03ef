@testable import ConsentWorker
import Kafka
import Logging
import Testing
import TestSupport

@Suite struct DeliveryLoopTests {
    /// Defect 7 (issue 9): the retry queue's copies are counted in bytes (what the pipeline's
    /// back-pressure compares with `WorkerSettings.maxRetryBytes`), and leave the count once
    /// librdkafka has taken them again.
    @Test func retryCopiesAreCountedInBytesUntilProducedAgain() async throws {
        let outcome = try await onThread {
            let cluster = try MockCluster()
            defer { cluster.shutdown() }
            let topic = uniqueName("out")
            try cluster.createTopic(name: topic, partitions: 1)
            let producer = try KafkaProducer(properties: properties(cluster, ["linger.ms": "0"]))
            defer { producer.close(timeout: .seconds(5)) }
            let delivery = DeliveryLoop(
                producer: producer, registry: PartitionRegistry(), changelogTopic: uniqueName("changelog"),
                metrics: WorkerMetrics(), logger: Logger(label: "test.delivery"))
            let headers = KafkaHeaders([(name: "h", value: Array(repeating: 1, count: 5))])
            for index in 0..<3 {
                delivery.retry(
                    OutputRetry(
                        topic: topic, key: Array(repeating: 0, count: 10), value: Array(repeating: 2, count: 1_000),
                        headers: headers, opaque: UInt(index + 1), now: .now),
                    after: KafkaError(code: .queueFull, operation: "test"))
            }
            let queued = delivery.retryBytes.load(ordering: .relaxed)
            delivery.start()
            let drained = delivery.wait(until: .now + .seconds(10)) { delivery.retryBytes.load(ordering: .relaxed) == 0 }
            delivery.stop()
            return (queued: queued, drained: drained)
        }
        // key 10 + value 1,000 + header name 1 and value 5, three times.
        #expect(outcome.queued == 3 * 1_016)
        #expect(outcome.drained, "the copies leave the count once produced again")
    }
}
