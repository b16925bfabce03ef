import ConsentAdmin
import ConsentEngine
import ConsentWorker
import Foundation
import Kafka

/// The admin API's `RegulationStore` over the Kafka topics: a regulation is accepted (202)
/// only once its suppression records and its regulation record are acknowledged by the broker.
struct KafkaRegulationStore: RegulationStore {
    let topics: SuppressionTopics
    let state: RoutingState

    func submit(_ regulation: Regulation) async throws {
        let topics = self.topics
        let records = Self.records(for: regulation, suppressionTopic: topics.suppressionTopic, regulationTopic: topics.regulationTopic)
        // Blocking produce-and-wait, on the topics' one write thread rather than the cooperative
        // pool; a full write queue throws, answered 503.
        try await topics.submit(records)
    }

    func regulation(id: String) async throws -> RegulationStatus? {
        guard let json = topics.regulation(id: id) else { return nil }
        let regulation = try Self.decoder.decode(Regulation.self, from: Data(json.dropFirst(Self.regulationPrefix.count).dropLast()))
        let enforced: Bool
        switch regulation.regulationType {
        case .suppressOnly, .suppressWithDelete:
            enforced = regulation.subjectIds.allSatisfy { state.suppressions.contains($0, as: regulation.subjectType.identifier) }
        case .unsuppress:
            enforced = regulation.subjectIds.allSatisfy { !state.suppressions.contains($0, as: regulation.subjectType.identifier) }
        case .deleteOnly:
            enforced = false
        }
        return RegulationStatus(regulation: regulation, state: enforced ? .enforced : .written)
    }

    func isSuppressed(_ subjectType: SubjectType, id: String) async -> Bool {
        state.suppressions.contains(id, as: subjectType.identifier)
    }

    /// Suppression records (a note, or a tombstone for UNSUPPRESS), one regulation record
    /// (`{"regulation":…}`), and for delete types one `delete` record per subject.
    static func records(for regulation: Regulation, suppressionTopic: String, regulationTopic: String) -> [SuppressionTopics.Record] {
        var records: [SuppressionTopics.Record] = []
        let identifier = regulation.subjectType.identifier
        if regulation.regulationType.suppresses || regulation.regulationType == .unsuppress {
            let note = Array(#"{"regulationId":"\#(regulation.id)","regulationType":"\#(regulation.regulationType.rawValue)"}"#.utf8)
            for id in regulation.subjectIds {
                records.append(.init(
                    topic: suppressionTopic, key: SuppressionTopics.suppressionKey(identifier, id),
                    value: regulation.regulationType == .unsuppress ? nil : note))
            }
        }
        let body = (try? encoder.encode(regulation)) ?? Data()
        records.append(.init(
            topic: regulationTopic, key: Array(regulation.id.utf8),
            value: Array(regulationPrefix.utf8) + Array(body) + [UInt8(ascii: "}")], kind: "regulation"))
        if regulation.regulationType.deletes {
            for id in regulation.subjectIds {
                let object: [String: String] = [
                    "action": "delete", "regulationId": regulation.id,
                    "subjectType": regulation.subjectType.rawValue, "subjectId": id,
                ]
                let value = (try? encoder.encode(object)).map(Array.init) ?? []
                records.append(.init(topic: regulationTopic, key: Array(id.utf8), value: value, kind: "delete"))
            }
        }
        return records
    }

    private static let regulationPrefix = #"{"regulation":"#

    private static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.sortedKeys]
        return encoder
    }()

    private static let decoder: JSONDecoder = {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return decoder
    }()
}

/// `/readyz` from the worker's own view of itself; also keeps `consent_gate_ready` current.
struct WorkerReadiness: ReadinessProbe {
    let worker: RoutingWorker

    func readiness() async -> Readiness {
        Readiness(checks: worker.readinessChecks.map { Readiness.Check(name: $0.name, ok: $0.ok, detail: $0.detail) })
    }
}
