import Hummingbird

/// Every non-2xx answer of the admin API, rendered as `{"error": {"code": ..., "message": ...}}`
/// so clients branch on a stable `code` instead of parsing messages.
public struct AdminAPIError: Error, Equatable, CustomStringConvertible {
    public var status: HTTPResponse.Status
    public var code: String
    public var message: String

    public init(_ status: HTTPResponse.Status, code: String, message: String) {
        self.status = status
        self.code = code
        self.message = message
    }

    public var description: String { "\(status.code) \(code): \(message)" }

    static let unauthorized = AdminAPIError(.unauthorized, code: "unauthorized", message: "a valid bearer token is required")
    static let tokenNotConfigured = AdminAPIError(
        .serviceUnavailable, code: "admin_token_not_configured",
        message: "admin token not configured; set \(AdminToken.environmentVariable) or \(AdminToken.fileEnvironmentVariable)")

    static func unsupportedMediaType() -> AdminAPIError {
        AdminAPIError(.unsupportedMediaType, code: "unsupported_media_type", message: "Content-Type must be application/json")
    }
    static func payloadTooLarge(limit: Int) -> AdminAPIError {
        AdminAPIError(.contentTooLarge, code: "payload_too_large", message: "request body exceeds \(limit) bytes")
    }
    static func malformedJSON() -> AdminAPIError {
        AdminAPIError(.badRequest, code: "malformed_json", message: "request body is not valid JSON")
    }
    static func invalidRequest(_ message: String) -> AdminAPIError {
        AdminAPIError(.badRequest, code: "invalid_request", message: message)
    }
    static func unknownRegulationType(_ value: String) -> AdminAPIError {
        AdminAPIError(.badRequest, code: "unknown_regulation_type",
            message: "unknown regulationType '\(value)'; expected one of \(RegulationType.allCases.map(\.rawValue).joined(separator: ", "))")
    }
    static func unknownSubjectType(_ value: String) -> AdminAPIError {
        AdminAPIError(.badRequest, code: "unknown_subject_type",
            message: "unknown subjectType '\(value)'; expected one of \(SubjectType.allCases.map(\.rawValue).joined(separator: ", "))")
    }
    static func invalidSubjectIds(_ message: String) -> AdminAPIError {
        AdminAPIError(.badRequest, code: "invalid_subject_ids", message: message)
    }
    static func tooManySubjectIds(_ count: Int) -> AdminAPIError {
        AdminAPIError(.badRequest, code: "too_many_subject_ids",
            message: "\(count) subjectIds; at most \(Regulation.maxSubjectIds) per request")
    }
    static func subjectTypeNotSuppressed(_ subjectType: SubjectType, configured: [String]) -> AdminAPIError {
        AdminAPIError(.badRequest, code: "subject_type_not_suppressed",
            message: "the policy does not suppress by \(subjectType.identifier.rawValue) (suppression.identifiers: \(configured.joined(separator: ", "))), so \(subjectType.rawValue) suppressions would never apply")
    }
    static func regulationNotFound(_ id: String) -> AdminAPIError {
        AdminAPIError(.notFound, code: "not_found", message: "no regulation with id '\(id)'")
    }
    static func storeUnavailable() -> AdminAPIError {
        AdminAPIError(.serviceUnavailable, code: "store_unavailable", message: "the regulation store is unavailable; retry later")
    }
}
