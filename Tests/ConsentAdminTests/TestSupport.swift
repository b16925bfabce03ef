import ConsentAdmin
import ConsentEngine
import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import Prometheus
import Testing

/// Records every submission and answers lookups from what it was given, as the worker's
/// Kafka-backed store would once the records are read back.
actor InMemoryRegulationStore: RegulationStore {
    private(set) var submitted: [Regulation] = []
    private var suppressed: Set<String> = []
    /// When set, `submit` throws it instead of recording (a broker outage).
    private var failure: StoreFailure?

    struct StoreFailure: Error {}

    func failSubmissions() { failure = StoreFailure() }

    func submit(_ regulation: Regulation) throws {
        if let failure { throw failure }
        submitted.append(regulation)
        for id in regulation.subjectIds {
            let key = Self.key(regulation.subjectType, id)
            if regulation.regulationType.suppresses { suppressed.insert(key) }
            if regulation.regulationType == .unsuppress { suppressed.remove(key) }
        }
    }

    func regulation(id: String) -> RegulationStatus? {
        submitted.first { $0.id == id }.map { RegulationStatus(regulation: $0, state: $0.regulationType == .deleteOnly ? .written : .enforced) }
    }

    func isSuppressed(_ subjectType: SubjectType, id: String) -> Bool {
        suppressed.contains(Self.key(subjectType, id))
    }

    private static func key(_ subjectType: SubjectType, _ id: String) -> String {
        "\(subjectType.rawValue):\(subjectType == .email ? id.lowercased() : id)"
    }
}

struct FixedReadiness: ReadinessProbe {
    let value: Readiness
    func readiness() -> Readiness { value }
}

let testToken = "s3cret-admin-token"
let authorized: HTTPFields = [.authorization: "Bearer \(testToken)", .contentType: "application/json"]

struct AdminHarness {
    let store = InMemoryRegulationStore()
    let registry = PrometheusCollectorRegistry()
    let api: AdminAPI

    init(
        token: String? = testToken,
        identifiers: [SuppressionIdentifier] = [.userId, .anonymousId],
        maxBodyBytes: Int = AdminAPI.defaultMaxBodyBytes,
        readiness: Readiness = Readiness(checks: [.init(name: "partitions_assigned", ok: true)])
    ) throws {
        var logger = Logger(label: "admin-test")
        logger.logLevel = .warning  // accepted regulations log at info; keep test output readable
        api = AdminAPI(
            store: store, readiness: FixedReadiness(value: readiness), registry: registry,
            token: try token.map { try AdminToken($0) }, suppressionIdentifiers: identifiers, version: "1.2.3-test",
            maxBodyBytes: maxBodyBytes, metricsFactory: PrometheusMetricsFactory(registry: registry), logger: logger)
    }

    @discardableResult
    func test<Value: Sendable>(_ body: @Sendable (any TestClientProtocol) async throws -> Value) async throws -> Value {
        try await Application(router: api.router()).test(.router, body)
    }
}

extension TestClientProtocol {
    func postRegulation(_ json: String, headers: HTTPFields = authorized) async throws -> TestResponse {
        try await execute(uri: "/v1/regulations", method: .post, headers: headers, body: ByteBuffer(string: json))
    }

    func get(_ uri: String, headers: HTTPFields = authorized) async throws -> TestResponse {
        try await execute(uri: uri, method: .get, headers: headers)
    }
}

struct ErrorBody: Decodable {
    struct Detail: Decodable {
        var code: String
        var message: String
    }
    var error: Detail
}

/// Asserts the status, the JSON error shape and its code; returns the message.
@discardableResult
func expectError(
    _ response: TestResponse, _ status: HTTPResponse.Status, code: String,
    sourceLocation: SourceLocation = #_sourceLocation
) throws -> String {
    #expect(response.status == status, sourceLocation: sourceLocation)
    #expect(response.headers[.contentType] == "application/json", sourceLocation: sourceLocation)
    let body = try JSONDecoder().decode(ErrorBody.self, from: Data(response.body.readableBytesView))
    #expect(body.error.code == code, sourceLocation: sourceLocation)
    #expect(!body.error.message.isEmpty, sourceLocation: sourceLocation)
    return body.error.message
}

func json(_ response: TestResponse) throws -> [String: Any] {
    try #require(JSONSerialization.jsonObject(with: Data(response.body.readableBytesView)) as? [String: Any])
}

func regulationJSON(_ type: String = "SUPPRESS_ONLY", subject: String = "USER_ID", ids: [String] = ["u1", "u2"]) -> String {
    let list = ids.map { "\"\($0)\"" }.joined(separator: ",")
    return #"{"regulationType":"\#(type)","subjectType":"\#(subject)","subjectIds":[\#(list)]}"#
}
