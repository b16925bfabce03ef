import Foundation
import Kafka
import TestSupport
import Testing

@Suite("Statistics")
struct StatisticsTests {
    /// Trimmed from a librdkafka 2.0.2 consumer's statistics, keeping the fields around the ones
    /// parsed and the internal partition -1.
    static let sample = """
        {"name":"rdkafka#consumer-1","client_id":"rdkafka","type":"consumer","ts":1234,"time":1700000000,
         "brokers":{"localhost:9092/1":{"name":"localhost:9092/1","nodeid":1,"state":"UP"}},
         "topics":{
           "ingest":{"topic":"ingest","age":1000,"metadata_age":900,"partitions":{
             "0":{"partition":0,"broker":1,"leader":1,"fetch_state":"active","hi_offset":120,"lo_offset":0,
                  "app_offset":100,"stored_offset":100,"committed_offset":90,"consumer_lag":30,"consumer_lag_stored":20},
             "1":{"partition":1,"broker":1,"leader":1,"fetch_state":"none","hi_offset":-1,"lo_offset":-1,
                  "committed_offset":-1001,"consumer_lag":-1},
             "-1":{"partition":-1,"broker":-1,"leader":-1,"hi_offset":-1,"consumer_lag":-1}}},
           "other":{"topic":"other","partitions":{
             "3":{"partition":3,"hi_offset":7,"committed_offset":7,"consumer_lag":0}}}},
         "cgrp":{"state":"up","join_state":"steady","rebalance_cnt":1,"assignment_size":3}}
        """

    @Test("Per-partition consumer lag is read, partition -1 ignored")
    func parsesLag() throws {
        let statistics = try KafkaStatistics.parse(Data(Self.sample.utf8))
        #expect(statistics.clientName == "rdkafka#consumer-1")
        #expect(statistics.partitions.map { "\($0.topic)[\($0.partition)]" } == ["ingest[0]", "ingest[1]", "other[3]"])
        let first = statistics.partitions[0]
        #expect(first.consumerLag == 30 && first.highWatermark == 120 && first.committedOffset == 90)
        #expect(statistics.consumerLag == [
            TopicPartition(topic: "ingest", partition: 0): 30,
            TopicPartition(topic: "other", partition: 3): 0,
        ])
    }

    @Test("Malformed statistics are a typed error saying where")
    func malformed() {
        #expect(throws: KafkaStatistics.ParseError.self) { try KafkaStatistics.parse(Data("not json".utf8)) }
        #expect(throws: KafkaStatistics.ParseError.malformed("topics.t.partitions.0.consumer_lag is not a number")) {
            try KafkaStatistics.parse(Data(#"{"topics":{"t":{"partitions":{"0":{"consumer_lag":"x"}}}}}"#.utf8))
        }
        #expect(throws: KafkaStatistics.ParseError.self) { try KafkaStatistics.parse(Data(#"{"topics":[]}"#.utf8)) }
    }

    @Test("A statistics document without topics (e.g. before the first assignment) has no partitions")
    func empty() throws {
        #expect(try KafkaStatistics.parse(Data(#"{"name":"c"}"#.utf8)).partitions.isEmpty)
    }
}
