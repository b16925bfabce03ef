import ConsentEngine
import Foundation

/// What a regulation asks for (consent-rules.md section 4). Raw values are the wire names.
public enum RegulationType: String, Sendable, Codable, CaseIterable {
    case suppressOnly = "SUPPRESS_ONLY"
    case suppressWithDelete = "SUPPRESS_WITH_DELETE"
    case unsuppress = "UNSUPPRESS"
    case deleteOnly = "DELETE_ONLY"

    /// Adds the subjects to the suppression list.
    public var suppresses: Bool { self == .suppressOnly || self == .suppressWithDelete }
    /// Forwards a delete record for downstream deletion workers.
    public var deletes: Bool { self == .suppressWithDelete || self == .deleteOnly }
}

/// Which identifier the subject ids are. Raw values are the wire names.
public enum SubjectType: String, Sendable, Codable, CaseIterable {
    case userId = "USER_ID"
    case anonymousId = "ANONYMOUS_ID"
    case email = "EMAIL"

    /// The engine's identifier type, used to look the subject up in `Suppressions`.
    public var identifier: SuppressionIdentifier {
        switch self {
        case .userId: .userId
        case .anonymousId: .anonymousId
        case .email: .email
        }
    }
}

/// One accepted regulation request, as handed to `RegulationStore.submit`.
public struct Regulation: Sendable, Codable, Equatable {
    /// A lower-case UUID assigned by the admin API; the key for `GET /v1/regulations/{id}`.
    public var id: String
    public var regulationType: RegulationType
    public var subjectType: SubjectType
    /// As sent, non-empty, at most `Regulation.maxSubjectIds`.
    public var subjectIds: [String]
    public var receivedAt: Date

    /// The spec's per-request limit (consent-rules.md section 4).
    public static let maxSubjectIds = 5000

    public init(id: String, regulationType: RegulationType, subjectType: SubjectType, subjectIds: [String], receivedAt: Date) {
        self.id = id
        self.regulationType = regulationType
        self.subjectType = subjectType
        self.subjectIds = subjectIds
        self.receivedAt = receivedAt
    }
}

/// A stored regulation and how far it got, for `GET /v1/regulations/{id}`.
public struct RegulationStatus: Sendable, Equatable {
    public enum State: String, Sendable, Codable {
        /// Durably written to the topics; this replica's suppression list may not reflect it yet.
        case written = "WRITTEN"
        /// This replica's suppression list reflects it (never reached by DELETE_ONLY).
        case enforced = "ENFORCED"
    }

    public var regulation: Regulation
    public var state: State

    public init(regulation: Regulation, state: State) {
        self.regulation = regulation
        self.state = state
    }
}

/// The answer of `GET /v1/suppressions/{subjectType}/{id}`.
public struct SuppressionStatus: Sendable, Codable, Equatable {
    public var subjectType: SubjectType
    public var id: String
    public var suppressed: Bool

    public init(subjectType: SubjectType, id: String, suppressed: Bool) {
        self.subjectType = subjectType
        self.id = id
        self.suppressed = suppressed
    }
}
