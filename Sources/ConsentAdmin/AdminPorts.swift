/// Where regulations go and where suppression state comes from. The worker implements it over
/// the Kafka topics, so this target stays free of Kafka; tests use an in-memory store.
public protocol RegulationStore: Sendable {
    /// Writes the regulation (suppression add/remove records and, for delete types, a delete
    /// record) and returns once it is durably written. A throw means the request is answered 503
    /// and the client should retry; the implementation must not leave a partial write visible
    /// as accepted.
    func submit(_ regulation: Regulation) async throws
    /// The regulation with this id, or nil if this replica does not know it.
    func regulation(id: String) async throws -> RegulationStatus?
    /// Whether the subject is on this replica's in-memory suppression list.
    func isSuppressed(_ subjectType: SubjectType, id: String) async -> Bool
}

/// Answers `/readyz`; the worker reports partitions assigned, state topics caught up,
/// producer healthy.
public protocol ReadinessProbe: Sendable {
    func readiness() async -> Readiness
}

/// Named checks; ready when every check is ok (an empty list is ready).
public struct Readiness: Sendable, Equatable {
    public struct Check: Sendable, Codable, Equatable {
        public var name: String
        public var ok: Bool
        /// Why it is not ok, for operators reading the probe output.
        public var detail: String?

        public init(name: String, ok: Bool, detail: String? = nil) {
            self.name = name
            self.ok = ok
            self.detail = detail
        }
    }

    public var checks: [Check]
    public var isReady: Bool { checks.allSatisfy(\.ok) }

    public init(checks: [Check]) {
        self.checks = checks
    }
}
