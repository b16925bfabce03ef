import Foundation
import Kafka
import TestSupport
import Testing

@Suite("Consumer groups")
struct ConsumerGroupTests {
    /// What one group member saw, for checks in the test body.
    struct Observation: Sendable {
        var events: [String] = []
        /// Offsets committed by revoke handlers, per partition, in order.
        var commits: [Int32: [Int64]] = [:]
        /// Offsets `a` committed while closing.
        var closeCommits: [Int32: Int64] = [:]
        /// Revoke handlers that found their partitions still assigned and committed them.
        var revokesWhileAssigned = 0
        var revokeFailures: [String] = []
        /// Commits made by `a`'s revoke handler while `a.close()` ran.
        var commitsOnClose = 0
        /// First offset each member consumed after each assignment of a partition, with the
        /// offset committed last before it.
        var resumes: [(member: String, partition: Int32, offset: Int64, lastCommit: Int64?)] = []
        var finalAssignment: [String: Set<Int32>] = [:]
        var splitAssignment: [String: Set<Int32>] = [:]
    }

    @Test(
        "Two members split the partitions; on leave the revoke handler commits and the other member resumes there",
        arguments: ["range", "cooperative-sticky"])
    func splitAndHandOver(assignmentStrategy: String) async throws {
        let cluster = try MockCluster(brokers: 1)
        let topic = uniqueName("group")
        let partitions: Int32 = 4
        try cluster.createTopic(name: topic, partitions: Int(partitions))
        let group = uniqueName("group")

        let observation = try await onThread {
            let producer = try KafkaProducer(properties: properties(cluster))
            for partition in 0..<partitions {
                for i in 0..<50 { try producer.send(topic: topic, partition: partition, key: "k", value: "\(partition)-\(i)") }
            }
            let reports = try collectReports(producer, count: 200, within: .seconds(10))
            guard reports.allSatisfy({ $0.error == nil }) else { throw TimedOut(what: "clean delivery") }
            producer.close()

            var seen = Observation()
            // Per member: messages processed per partition in the current assignment (at most
            // 10, so progress after each hand-over is visible), and the last processed offset.
            var processed: [String: [Int32: (count: Int, last: Int64)]] = ["a": [:], "b": [:]]
            var lastCommit: [Int32: Int64] = [:]
            var closing = false

            func handler(_ member: String) -> KafkaConsumer.RebalanceHandler {
                return { consumer, event in
                    seen.events.append("\(member): \(event)")
                    switch event {
                    case .assigned(let assigned):
                        for p in assigned { processed[member]![p.partition] = (0, -1) }
                    case .revoked(let revoked):
                        // Still ours: commit what was processed, as the worker will.
                        let assignment = Set((try? consumer.assignment()) ?? [])
                        if !Set(revoked).isSubset(of: assignment) { seen.revokeFailures.append("\(member): not assigned in handler") }
                        let offsets = revoked.compactMap { p -> TopicPartitionOffset? in
                            guard let state = processed[member]![p.partition], state.last >= 0 else { return nil }
                            return TopicPartitionOffset(topic: p.topic, partition: p.partition, offset: state.last + 1)
                        }
                        do {
                            try consumer.storeOffsets(offsets)
                            try consumer.commit()
                            for o in offsets {
                                seen.commits[o.partition, default: []].append(o.offset)
                                lastCommit[o.partition] = o.offset
                            }
                            seen.revokesWhileAssigned += 1
                            if closing {
                                seen.commitsOnClose += offsets.count
                                for o in offsets { seen.closeCommits[o.partition] = o.offset }
                            }
                        } catch let error as KafkaError where error.code.rawValue == 27 && !closing {
                            // REBALANCE_IN_PROGRESS: the mock refuses commits while a rebalance
                            // another member started is joining (real brokers accept them until
                            // the sync phase). The new owner then resumes at the older commit.
                            seen.events.append("\(member): commit refused by the mock during a rebalance")
                        } catch {
                            seen.revokeFailures.append("\(member): \(error)")
                        }
                        for p in revoked { processed[member]![p.partition] = nil }
                    case .lost(let lost):
                        for p in lost { processed[member]![p.partition] = nil }
                    }
                }
            }

            func poll(_ member: String, _ consumer: KafkaConsumer) throws {
                let batch = try consumer.consume(maxMessages: 100, timeout: .milliseconds(50))
                for message in batch {
                    if let error = message.error { throw error }
                    guard var state = processed[member]![message.partition] else { continue }
                    if state.count == 0 {
                        seen.resumes.append((member, message.partition, message.offset, lastCommit[message.partition]))
                    }
                    guard state.count < 10 else { continue }
                    state = (state.count + 1, message.offset)
                    processed[member]![message.partition] = state
                }
            }

            let groupProperties = properties(cluster, fastGroup.merging(["partition.assignment.strategy": assignmentStrategy]))
            let a = try KafkaConsumer(groupID: group, properties: groupProperties, rebalanceHandler: handler("a"))
            let b = try KafkaConsumer(groupID: group, properties: groupProperties, rebalanceHandler: handler("b"))
            try a.subscribe(topics: [topic])
            try b.subscribe(topics: [topic])

            // Phase 1: both members hold a share and have processed their first messages.
            var deadline = ContinuousClock.now + .seconds(20)
            while true {
                try poll("a", a)
                try poll("b", b)
                let shares = [try a.assignment(), try b.assignment()].map { Set($0.map(\.partition)) }
                let allStarted = processed.values.allSatisfy { $0.values.allSatisfy { $0.count == 10 } }
                if shares.allSatisfy({ !$0.isEmpty }), shares[0].union(shares[1]).count == Int(partitions),
                    shares[0].isDisjoint(with: shares[1]), allStarted
                {
                    seen.splitAssignment = ["a": shares[0], "b": shares[1]]
                    break
                }
                guard ContinuousClock.now < deadline else { throw TimedOut(what: "the group to split partitions") }
            }

            // Phase 2: a leaves (its handler commits in close); b takes over every partition and
            // processes 10 more messages on each.
            closing = true
            a.close()
            closing = false
            deadline = ContinuousClock.now + .seconds(20)
            while true {
                try poll("b", b)
                let share = Set(try b.assignment().map(\.partition))
                if share.count == Int(partitions), processed["b"]!.count == Int(partitions),
                    processed["b"]!.values.allSatisfy({ $0.count == 10 })
                {
                    seen.finalAssignment = ["b": share]
                    break
                }
                guard ContinuousClock.now < deadline else { throw TimedOut(what: "b to take over all partitions") }
            }
            b.close()  // commits b's progress from its final revoke
            return seen
        }

        #expect(observation.revokeFailures.isEmpty, "\(observation.revokeFailures)")
        #expect(observation.commitsOnClose == observation.splitAssignment["a"]?.count, "a committed all its partitions while closing")
        #expect(observation.splitAssignment.values.allSatisfy { !$0.isEmpty })
        #expect(observation.finalAssignment["b"] == Set(0..<partitions))
        // Every member started each assignment exactly where the previous owner committed
        // (or at 0 when nobody had committed yet).
        for resume in observation.resumes {
            #expect(resume.offset == (resume.lastCommit ?? 0), "\(resume.member) resumed \(topic)[\(resume.partition)] at \(resume.offset)")
        }
        // a's partitions went to b at a's commit (10 per hand-over, so at least 10).
        let handedOver = observation.splitAssignment["a"] ?? []
        for partition in handedOver {
            let resume = observation.resumes.last { $0.member == "b" && $0.partition == partition }
            #expect(resume != nil && resume!.offset >= 10 && resume!.offset == observation.closeCommits[partition])
        }
        #expect(observation.events.contains { $0.hasPrefix("a: revoked") })

        // The group's commits are visible to the admin API, and lag follows from them.
        let lag = try await onThread {
            try KafkaAdmin(properties: properties(cluster)).lag(group: group, topic: topic, timeout: .seconds(5))
        }
        #expect(lag.count == Int(partitions))
        for p in lag {
            let committed = observation.commits[p.partition]?.last
            #expect(p.committed == committed && p.highWatermark == 50 && p.lag == 50 - (committed ?? 0))
        }
    }
}
