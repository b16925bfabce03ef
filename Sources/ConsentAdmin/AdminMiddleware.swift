import Hummingbird
import Logging

/// Renders every failure, including the router's own 404s, as the admin API's JSON error shape.
struct JSONErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    let logger: Logger

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as AdminAPIError {
            return try error.response()
        } catch let error as HTTPError {
            let code = error.status == .notFound ? "not_found" : "http_\(error.status.code)"
            return try AdminAPIError(error.status, code: code, message: error.body ?? error.status.reasonPhrase).response()
        } catch {
            logger.error("admin request failed", metadata: ["path": "\(request.uri.path)", "error": "\(error)"])
            return try AdminAPIError(.internalServerError, code: "internal_error", message: "internal error").response()
        }
    }
}

/// Checks `Authorization: Bearer <token>` in constant time. Without a configured token every
/// request is refused with 503: an open regulations API would let anyone unsuppress users.
struct BearerAuthMiddleware<Context: RequestContext>: RouterMiddleware {
    let token: AdminToken?

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let token else { throw AdminAPIError.tokenNotConfigured }
        guard let header = request.headers[.authorization],
              let presented = Self.bearerCredentials(header),
              token.matches(presented)
        else { throw AdminAPIError.unauthorized }
        return try await next(request, context)
    }

    /// The credentials of a `Bearer` authorization header (the scheme is case-insensitive).
    static func bearerCredentials(_ header: String) -> Substring? {
        let parts = header.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else { return nil }
        let credentials = parts[1].drop(while: { $0 == " " })
        return credentials.isEmpty ? nil : credentials
    }
}

extension AdminAPIError {
    struct Body: Encodable {
        struct Detail: Encodable {
            var code: String
            var message: String
        }
        var error: Detail
    }

    func response() throws -> Response {
        var response = try jsonResponse(status, Body(error: .init(code: code, message: message)))
        if status == .unauthorized {
            response.headers[.wwwAuthenticate] = "Bearer"
        }
        return response
    }
}
