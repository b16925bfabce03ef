@testable import ConsentAdmin
import Foundation
import Testing

@Suite struct AdminTokenTests {
    private func temporaryFile(_ contents: String) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("admin-token-\(UUID().uuidString)").path
        try contents.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test func fromEnvironmentIsTrimmed() throws {
        let token = try #require(try AdminToken.load(environment: ["CONSENT_GATE_ADMIN_TOKEN": "  abc123\n"]))
        #expect(token.matches("abc123"))
        #expect(!token.matches("  abc123\n"))
    }

    @Test func fromFileIsTrimmed() throws {
        let path = try temporaryFile("file-token\n")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let token = try #require(try AdminToken.load(environment: ["CONSENT_GATE_ADMIN_TOKEN_FILE": path]))
        #expect(token.matches("file-token"))
    }

    @Test func noneConfiguredIsNil() throws {
        #expect(try AdminToken.load(environment: ["PATH": "/bin"]) == nil)
    }

    @Test(arguments: ["", " \n\t "])
    func emptyIsAnError(contents: String) throws {
        let path = try temporaryFile(contents)
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(throws: AdminTokenError.empty(source: path)) {
            try AdminToken.load(environment: ["CONSENT_GATE_ADMIN_TOKEN_FILE": path])
        }
        #expect(throws: AdminTokenError.empty(source: "CONSENT_GATE_ADMIN_TOKEN")) {
            try AdminToken.load(environment: ["CONSENT_GATE_ADMIN_TOKEN": contents])
        }
    }

    @Test func missingFileIsAnError() throws {
        let path = "/nonexistent/consent-gate-token"
        let error = #expect(throws: AdminTokenError.self) {
            try AdminToken.load(environment: ["CONSENT_GATE_ADMIN_TOKEN_FILE": path])
        }
        guard case .unreadable(let reported, _)? = error else { Issue.record("expected unreadable, got \(String(describing: error))"); return }
        #expect(reported == path)
    }

    @Test func bothSetIsAnError() throws {
        #expect(throws: AdminTokenError.ambiguous) {
            try AdminToken.load(environment: ["CONSENT_GATE_ADMIN_TOKEN": "a", "CONSENT_GATE_ADMIN_TOKEN_FILE": "/tmp/x"])
        }
    }

    @Test func constantTimeComparison() {
        let secret = Array("correct horse".utf8)
        #expect(AdminToken.constantTimeEquals(secret, secret))
        #expect(!AdminToken.constantTimeEquals(Array("correct horsf".utf8), secret))  // same length, last byte
        #expect(!AdminToken.constantTimeEquals(Array("Correct horse".utf8), secret))  // same length, first byte
        #expect(!AdminToken.constantTimeEquals(Array("correct".utf8), secret))  // prefix, shorter
        #expect(!AdminToken.constantTimeEquals(Array("correct horse!".utf8), secret))  // longer
        #expect(!AdminToken.constantTimeEquals(Array("correct horsecorrect horse".utf8), secret))  // secret repeated
        #expect(!AdminToken.constantTimeEquals([], secret))
        #expect(!AdminToken.constantTimeEquals([], []))
    }
}
