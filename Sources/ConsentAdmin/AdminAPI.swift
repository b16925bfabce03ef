import ConsentEngine
import Foundation
import Hummingbird
import Logging
import Metrics
import Prometheus

/// The admin listener's routes. Kept apart from `AdminServer` so tests can drive the router
/// without a socket.
///
/// `/v1/...` requires `Authorization: Bearer <token>`. `/metrics`, `/healthz` and `/readyz` do
/// not: Prometheus scrapers and orchestrator probes rarely carry credentials, they reveal no
/// subject data, and the listener binds to loopback unless configured otherwise.
public struct AdminAPI: Sendable {
    public static let defaultMaxBodyBytes = 1 << 20

    private let store: any RegulationStore
    private let readiness: any ReadinessProbe
    private let registry: PrometheusCollectorRegistry
    private let token: AdminToken?
    private let suppressionIdentifiers: [SuppressionIdentifier]
    private let maxBodyBytes: Int
    private let metrics: AdminMetrics
    private let logger: Logger

    /// - Parameters:
    ///   - token: nil when none is configured: `/v1` then answers 503 to everyone (fail closed).
    ///   - suppressionIdentifiers: the policy's `suppression.identifiers`; SUPPRESS_* requests for
    ///     any other subject type are refused, since they would never take effect.
    ///   - registry: what `GET /metrics` exports; the same one `PrometheusMetricsFactory(registry:)`
    ///     was bootstrapped with.
    ///   - metricsFactory: where this API's own metrics go; defaults to the bootstrapped system.
    ///   - version: the `version` label of `consent_gate_build_info`, recorded here once.
    public init(
        store: any RegulationStore,
        readiness: any ReadinessProbe,
        registry: PrometheusCollectorRegistry,
        token: AdminToken?,
        suppressionIdentifiers: [SuppressionIdentifier],
        version: String,
        maxBodyBytes: Int = AdminAPI.defaultMaxBodyBytes,
        metricsFactory: any MetricsFactory = MetricsSystem.factory,
        logger: Logger = Logger(label: "consent-gate.admin")
    ) {
        self.store = store
        self.readiness = readiness
        self.registry = registry
        self.token = token
        self.suppressionIdentifiers = suppressionIdentifiers
        self.maxBodyBytes = maxBodyBytes
        self.metrics = AdminMetrics(factory: metricsFactory, version: version)
        self.logger = logger
    }

    public func router() -> Router<BasicRequestContext> {
        let router = Router()
        router.add(middleware: JSONErrorMiddleware(logger: logger))
        router.get("/healthz") { _, _ in try jsonResponse(.ok, ["status": "ok"]) }
        router.get("/readyz") { _, _ in try await self.ready() }
        router.get("/metrics") { _, _ in self.scrape() }
        let v1 = router.group("/v1").add(middleware: BearerAuthMiddleware(token: token))
        v1.post("/regulations") { request, _ in try await self.submit(request) }
        v1.get("/regulations/:id") { _, context in try await self.regulation(id: context.parameters.require("id")) }
        v1.get("/suppressions/:subjectType/:id") { _, context in
            try await self.suppression(subjectType: context.parameters.require("subjectType"), id: context.parameters.require("id"))
        }
        return router
    }

    private func submit(_ request: Request) async throws -> Response {
        guard isJSON(request.headers[.contentType]) else { throw AdminAPIError.unsupportedMediaType() }
        let body = try await collect(request.body)
        let parsed = try Self.parseRegulation(body, suppressionIdentifiers: suppressionIdentifiers)
        let regulation = Regulation(
            id: UUID().uuidString.lowercased(), regulationType: parsed.regulationType, subjectType: parsed.subjectType,
            subjectIds: parsed.subjectIds, receivedAt: Date())
        do {
            try await store.submit(regulation)
        } catch {
            logger.error("regulation store failed", metadata: ["regulation.id": "\(regulation.id)", "error": "\(error)"])
            throw AdminAPIError.storeUnavailable()
        }
        metrics.accepted(regulation.regulationType)
        // Ids are personal data: log the shape, never the subjects.
        logger.info("regulation accepted", metadata: [
            "regulation.id": "\(regulation.id)", "regulation.type": "\(regulation.regulationType.rawValue)",
            "subject.type": "\(regulation.subjectType.rawValue)", "subject.count": "\(regulation.subjectIds.count)",
        ])
        var response = try jsonResponse(.accepted, AcceptedBody(
            id: regulation.id, regulationType: regulation.regulationType, subjectType: regulation.subjectType,
            subjectCount: regulation.subjectIds.count))
        response.headers[.location] = "/v1/regulations/\(regulation.id)"
        return response
    }

    private func regulation(id: String) async throws -> Response {
        let status: RegulationStatus?
        do {
            status = try await store.regulation(id: id)
        } catch {
            logger.error("regulation store failed", metadata: ["regulation.id": "\(id)", "error": "\(error)"])
            throw AdminAPIError.storeUnavailable()
        }
        guard let status else { throw AdminAPIError.regulationNotFound(id) }
        let regulation = status.regulation
        return try jsonResponse(.ok, RegulationBody(
            id: regulation.id, regulationType: regulation.regulationType, subjectType: regulation.subjectType,
            subjectIds: regulation.subjectIds, subjectCount: regulation.subjectIds.count,
            receivedAt: regulation.receivedAt, state: status.state))
    }

    private func suppression(subjectType rawType: String, id rawID: String) async throws -> Response {
        guard let subjectType = SubjectType(rawValue: rawType) else { throw AdminAPIError.unknownSubjectType(rawType) }
        // Router parameters arrive percent-encoded; ids may contain '@', '+', '/' and spaces.
        guard let id = rawID.removingPercentEncoding, !id.isEmpty else {
            throw AdminAPIError.invalidRequest("subject id is not valid percent-encoded text")
        }
        let suppressed = await store.isSuppressed(subjectType, id: id)
        return try jsonResponse(.ok, SuppressionStatus(subjectType: subjectType, id: id, suppressed: suppressed))
    }

    private func ready() async throws -> Response {
        let readiness = await readiness.readiness()
        return try jsonResponse(
            readiness.isReady ? .ok : .serviceUnavailable,
            ReadinessBody(status: readiness.isReady ? "ready" : "not_ready", checks: readiness.checks))
    }

    private func scrape() -> Response {
        Response(
            status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(bytes: registry.emitToBuffer())))
    }

    /// Reads the body up to the limit, refusing as soon as it is exceeded so an oversized
    /// upload is never buffered whole.
    private func collect(_ body: RequestBody) async throws -> ByteBuffer {
        var collected = ByteBuffer()
        for try await chunk in body {
            guard collected.readableBytes + chunk.readableBytes <= maxBodyBytes else {
                throw AdminAPIError.payloadTooLarge(limit: maxBodyBytes)
            }
            collected.writeImmutableBuffer(chunk)
        }
        return collected
    }

    /// The validated fields of a `POST /v1/regulations` body.
    struct ParsedRegulation: Equatable {
        var regulationType: RegulationType
        var subjectType: SubjectType
        var subjectIds: [String]
    }

    /// Validates a regulation body; the first problem found becomes the error.
    static func parseRegulation(
        _ body: ByteBuffer, suppressionIdentifiers: [SuppressionIdentifier]
    ) throws(AdminAPIError) -> ParsedRegulation {
        let raw: RegulationRequestBody
        do {
            raw = try JSONDecoder().decode(RegulationRequestBody.self, from: Data(body.readableBytesView))
        } catch let error as DecodingError {
            throw describe(error)
        } catch {
            throw .malformedJSON()
        }
        guard let regulationType = RegulationType(rawValue: raw.regulationType) else {
            throw .unknownRegulationType(raw.regulationType)
        }
        guard let subjectType = SubjectType(rawValue: raw.subjectType) else { throw .unknownSubjectType(raw.subjectType) }
        guard !raw.subjectIds.isEmpty else { throw .invalidSubjectIds("subjectIds must not be empty") }
        guard raw.subjectIds.count <= Regulation.maxSubjectIds else { throw .tooManySubjectIds(raw.subjectIds.count) }
        if let index = raw.subjectIds.firstIndex(where: \.isEmpty) {
            throw .invalidSubjectIds("subjectIds[\(index)] is an empty string")
        }
        if regulationType.suppresses, !suppressionIdentifiers.contains(subjectType.identifier) {
            throw .subjectTypeNotSuppressed(subjectType, configured: suppressionIdentifiers.map(\.rawValue))
        }
        return ParsedRegulation(regulationType: regulationType, subjectType: subjectType, subjectIds: raw.subjectIds)
    }

    /// Turns a decoding failure into a message naming the field, without echoing values.
    private static func describe(_ error: DecodingError) -> AdminAPIError {
        func field(_ path: [any CodingKey]) -> String { path.first?.stringValue ?? "" }
        func wrongType(_ path: [any CodingKey]) -> AdminAPIError {
            switch field(path) {
            case "": .invalidRequest("request body must be a JSON object")
            case "subjectIds": .invalidSubjectIds("subjectIds must be an array of strings")
            case let name: .invalidRequest("\(name) must be a string")
            }
        }
        switch error {
        case .dataCorrupted(let context) where context.codingPath.isEmpty:
            return .malformedJSON()
        case .keyNotFound(let key, _):
            return key.stringValue == "subjectIds"
                ? .invalidSubjectIds("subjectIds is required") : .invalidRequest("\(key.stringValue) is required")
        case .typeMismatch(_, let context), .valueNotFound(_, let context), .dataCorrupted(let context):
            return wrongType(context.codingPath)
        @unknown default:
            return .malformedJSON()
        }
    }
}

/// `application/json`, with or without parameters such as `charset`.
private func isJSON(_ contentType: String?) -> Bool {
    guard let contentType else { return false }
    let mediaType = contentType.split(separator: ";", maxSplits: 1).first ?? ""
    return mediaType.trimmingCharacters(in: .whitespaces).lowercased() == "application/json"
}

func jsonResponse(_ status: HTTPResponse.Status, _ value: some Encodable) throws -> Response {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    encoder.dateEncodingStrategy = .iso8601
    return Response(
        status: status, headers: [.contentType: "application/json"],
        body: .init(byteBuffer: ByteBuffer(bytes: try encoder.encode(value))))
}

private struct RegulationRequestBody: Decodable {
    var regulationType: String
    var subjectType: String
    var subjectIds: [String]
}

private struct AcceptedBody: Encodable {
    var id: String
    var regulationType: RegulationType
    var subjectType: SubjectType
    var subjectCount: Int
}

private struct RegulationBody: Encodable {
    var id: String
    var regulationType: RegulationType
    var subjectType: SubjectType
    var subjectIds: [String]
    var subjectCount: Int
    var receivedAt: Date
    var state: RegulationStatus.State
}

private struct ReadinessBody: Encodable {
    var status: String
    var checks: [Readiness.Check]
}
