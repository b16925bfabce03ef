import Foundation

/// The shared secret for the regulations and suppressions routes.
public struct AdminToken: Sendable {
    /// The environment variable holding the token itself.
    public static let environmentVariable = "CONSENT_GATE_ADMIN_TOKEN"
    /// The environment variable naming a file that holds the token (a mounted secret), so
    /// the token does not have to appear in the process environment.
    public static let fileEnvironmentVariable = "CONSENT_GATE_ADMIN_TOKEN_FILE"

    private let secret: [UInt8]

    /// Surrounding whitespace is trimmed (files usually end in a newline).
    public init(_ token: String) throws(AdminTokenError) {
        let trimmed = token.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty else { throw .empty(source: "the token") }
        secret = Array(trimmed.utf8)
    }

    /// Reads `CONSENT_GATE_ADMIN_TOKEN` or the file named by `CONSENT_GATE_ADMIN_TOKEN_FILE`;
    /// nil when neither is set (the admin API then refuses regulation requests). Setting both
    /// is an error rather than a silent precedence rule.
    /// - Parameter configured: `admin.token` of the configuration file, already resolved.
    public static func load(environment: [String: String], configured: String? = nil) throws(AdminTokenError) -> AdminToken? {
        switch (environment[environmentVariable], environment[fileEnvironmentVariable]) {
        case (nil, nil):
            guard let configured else { return nil }
            do { return try AdminToken(configured) } catch { throw .empty(source: "admin.token") }
        case (.some, .some):
            throw .ambiguous
        case _ where configured != nil:
            throw .ambiguous
        case (let value?, nil):
            do { return try AdminToken(value) } catch { throw .empty(source: environmentVariable) }
        case (nil, let path?):
            let contents: String
            do {
                contents = try String(contentsOfFile: path, encoding: .utf8)
            } catch {
                throw .unreadable(path: path, reason: Self.reason(error))
            }
            do { return try AdminToken(contents) } catch { throw .empty(source: path) }
        }
    }

    /// One line: the POSIX reason when Foundation wraps one ("No such file or directory").
    private static func reason(_ error: any Error) -> String {
        let nsError = error as NSError
        if let underlying = nsError.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain {
            return String(cString: strerror(Int32(underlying.code)))
        }
        return nsError.localizedDescription
    }

    /// True when the presented token equals the secret. The time taken depends only on the
    /// length of the presented token, never on where it first differs nor on the secret.
    public func matches(_ presented: some StringProtocol) -> Bool {
        Self.constantTimeEquals(Array(presented.utf8), secret)
    }

    /// Compares every byte of `presented` (against the secret, cycled) and folds the length
    /// difference into the result, so neither an early mismatch nor a short guess returns sooner.
    static func constantTimeEquals(_ presented: [UInt8], _ secret: [UInt8]) -> Bool {
        guard !secret.isEmpty else { return false }
        var difference = UInt(bitPattern: presented.count ^ secret.count)
        for index in presented.indices {
            difference |= UInt(presented[index] ^ secret[index % secret.count])
        }
        return difference == 0
    }
}

public enum AdminTokenError: Error, Equatable, CustomStringConvertible {
    case empty(source: String)
    case unreadable(path: String, reason: String)
    case ambiguous

    public var description: String {
        switch self {
        case .empty(let source): "admin token from \(source) is empty"
        case .unreadable(let path, let reason): "cannot read admin token file \(path): \(reason)"
        case .ambiguous: "set only one of admin.token, \(AdminToken.environmentVariable) and \(AdminToken.fileEnvironmentVariable)"
        }
    }
}
