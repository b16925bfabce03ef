import ConsentAdmin
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

@Suite struct AuthenticationTests {
    @Test(arguments: [
        nil, "Bearer wrong-token", "Bearer \(testToken)x", "Bearer s3cret", "Basic \(testToken)", "Bearer", testToken,
    ] as [String?])
    func missingOrWrongTokenIs401(authorization: String?) async throws {
        let harness = try AdminHarness()
        try await harness.test { client in
            var headers: HTTPFields = [.contentType: "application/json"]
            if let authorization { headers[.authorization] = authorization }
            for response in [
                try await client.postRegulation(regulationJSON(), headers: headers),
                try await client.get("/v1/regulations/\(UUID())", headers: headers),
                try await client.get("/v1/suppressions/USER_ID/u1", headers: headers),
            ] {
                try expectError(response, .unauthorized, code: "unauthorized")
                #expect(response.headers[.wwwAuthenticate] == "Bearer")
            }
        }
        #expect(await harness.store.submitted.isEmpty)
    }

    @Test func schemeIsCaseInsensitive() async throws {
        let harness = try AdminHarness()
        try await harness.test { client in
            let response = try await client.postRegulation(
                regulationJSON(), headers: [.authorization: "bearer \(testToken)", .contentType: "application/json"])
            #expect(response.status == .accepted)
        }
    }

    @Test func noConfiguredTokenFailsClosed() async throws {
        let harness = try AdminHarness(token: nil)
        try await harness.test { client in
            try expectError(try await client.postRegulation(regulationJSON()), .serviceUnavailable, code: "admin_token_not_configured")
            try expectError(try await client.get("/v1/suppressions/USER_ID/u1"), .serviceUnavailable, code: "admin_token_not_configured")
            // Probes and scrapes stay open.
            #expect(try await client.get("/healthz", headers: [:]).status == .ok)
        }
        #expect(await harness.store.submitted.isEmpty)
    }
}

@Suite struct RegulationValidationTests {
    /// Each case must be refused with the JSON error shape and write nothing.
    static let badBodies: [(body: String, status: HTTPResponse.Status, code: String)] = [
        (#"{"regulationType":"SUPPRESS_ONLY","subjectType":"USER_ID","subjectIds":["a"]"#, .badRequest, "malformed_json"),
        ("not json", .badRequest, "malformed_json"),
        ("", .badRequest, "malformed_json"),
        ("[]", .badRequest, "invalid_request"),
        (regulationJSON("FORGET_ME"), .badRequest, "unknown_regulation_type"),
        (regulationJSON("suppress_only"), .badRequest, "unknown_regulation_type"),
        (regulationJSON(subject: "PHONE"), .badRequest, "unknown_subject_type"),
        (#"{"subjectType":"USER_ID","subjectIds":["a"]}"#, .badRequest, "invalid_request"),
        (#"{"regulationType":1,"subjectType":"USER_ID","subjectIds":["a"]}"#, .badRequest, "invalid_request"),
        (#"{"regulationType":"SUPPRESS_ONLY","subjectType":null,"subjectIds":["a"]}"#, .badRequest, "invalid_request"),
        (#"{"regulationType":"SUPPRESS_ONLY","subjectType":"USER_ID"}"#, .badRequest, "invalid_subject_ids"),
        (regulationJSON(ids: []), .badRequest, "invalid_subject_ids"),
        (#"{"regulationType":"SUPPRESS_ONLY","subjectType":"USER_ID","subjectIds":["a",2]}"#, .badRequest, "invalid_subject_ids"),
        (#"{"regulationType":"SUPPRESS_ONLY","subjectType":"USER_ID","subjectIds":"a"}"#, .badRequest, "invalid_subject_ids"),
        (regulationJSON(ids: ["a", ""]), .badRequest, "invalid_subject_ids"),
        (regulationJSON(ids: (0...Regulation.maxSubjectIds).map { "u\($0)" }), .badRequest, "too_many_subject_ids"),
        // The harness policy suppresses by userId and anonymousId only.
        (regulationJSON(subject: "EMAIL", ids: ["a@example.com"]), .badRequest, "subject_type_not_suppressed"),
        (regulationJSON("SUPPRESS_WITH_DELETE", subject: "EMAIL", ids: ["a@example.com"]), .badRequest, "subject_type_not_suppressed"),
    ]

    @Test(arguments: badBodies.indices)
    func badBodyIsRefusedAndWritesNothing(index: Int) async throws {
        let (body, status, code) = Self.badBodies[index]
        let harness = try AdminHarness()
        try await harness.test { client in
            try expectError(try await client.postRegulation(body), status, code: code)
        }
        #expect(await harness.store.submitted.isEmpty)
    }

    @Test func exactly5000IdsAreAccepted() async throws {
        let harness = try AdminHarness()
        let ids = (0..<Regulation.maxSubjectIds).map { "u\($0)" }
        try await harness.test { client in
            let response = try await client.postRegulation(regulationJSON(ids: ids))
            #expect(response.status == .accepted)
            #expect(try json(response)["subjectCount"] as? Int == 5000)
        }
        #expect(await harness.store.submitted.map(\.subjectIds) == [ids])
    }

    @Test func oversizedBodyIs413() async throws {
        let harness = try AdminHarness(maxBodyBytes: 1024)
        let ids = (0..<200).map { "user-\($0)" }
        try await harness.test { client in
            try expectError(try await client.postRegulation(regulationJSON(ids: ids)), .contentTooLarge, code: "payload_too_large")
        }
        #expect(await harness.store.submitted.isEmpty)
    }

    @Test func defaultLimitRefuses1MiBPlusOne() async throws {
        let harness = try AdminHarness()
        let padding = String(repeating: " ", count: AdminAPI.defaultMaxBodyBytes + 1 - regulationJSON().utf8.count)
        try await harness.test { client in
            try expectError(try await client.postRegulation(regulationJSON() + padding), .contentTooLarge, code: "payload_too_large")
            #expect(try await client.postRegulation(regulationJSON() + padding.dropFirst()).status == .accepted)
        }
    }

    @Test(arguments: [nil, "text/plain", "application/x-www-form-urlencoded", "application/jsonx"] as [String?])
    func nonJSONContentTypeIs415(contentType: String?) async throws {
        let harness = try AdminHarness()
        var headers: HTTPFields = [.authorization: "Bearer \(testToken)"]
        if let contentType { headers[.contentType] = contentType }
        try await harness.test { [headers] client in
            try expectError(try await client.postRegulation(regulationJSON(), headers: headers), .unsupportedMediaType, code: "unsupported_media_type")
        }
        #expect(await harness.store.submitted.isEmpty)
    }

    @Test func storeFailureIs503AndNotCounted() async throws {
        let harness = try AdminHarness()
        await harness.store.failSubmissions()
        try await harness.test { client in
            try expectError(try await client.postRegulation(regulationJSON()), .serviceUnavailable, code: "store_unavailable")
        }
        #expect(harness.registry.emitToString().contains(#"consent_gate_regulations_total{type="SUPPRESS_ONLY"} 0"#))
    }

    @Test func unknownRouteIsJSON404() async throws {
        let harness = try AdminHarness()
        try await harness.test { client in
            try expectError(try await client.get("/v2/nothing"), .notFound, code: "not_found")
        }
    }
}

@Suite struct RegulationRoutesTests {
    @Test func validPostIs202AndStoresExactlyTheRegulation() async throws {
        let harness = try AdminHarness()
        let before = Date()
        let accepted = try await harness.test { client in
            try await client.postRegulation(regulationJSON("SUPPRESS_WITH_DELETE", subject: "ANONYMOUS_ID", ids: ["a1", "a2", "a1"]),
                headers: [.authorization: "Bearer \(testToken)", .contentType: "application/json; charset=utf-8"])
        }
        #expect(accepted.status == .accepted)
        let body = try json(accepted)
        let id = try #require(body["id"] as? String)
        #expect(UUID(uuidString: id) != nil && id == id.lowercased())
        #expect(body["regulationType"] as? String == "SUPPRESS_WITH_DELETE")
        #expect(body["subjectType"] as? String == "ANONYMOUS_ID")
        #expect(body["subjectCount"] as? Int == 3)
        #expect(accepted.headers[.location] == "/v1/regulations/\(id)")

        let submitted = await harness.store.submitted
        #expect(submitted.count == 1)
        let regulation = try #require(submitted.first)
        #expect(regulation.id == id)
        #expect(regulation.regulationType == .suppressWithDelete)
        #expect(regulation.subjectType == .anonymousId)
        #expect(regulation.subjectIds == ["a1", "a2", "a1"])
        #expect(regulation.receivedAt >= before.addingTimeInterval(-1) && regulation.receivedAt <= Date())
    }

    @Test func unsuppressAndDeleteOnlyAreNotLimitedToSuppressedIdentifiers() async throws {
        // EMAIL is not among the harness policy's identifiers: removing or deleting is still allowed.
        let harness = try AdminHarness()
        try await harness.test { client in
            let unsuppress = try await client.postRegulation(regulationJSON("UNSUPPRESS", subject: "EMAIL", ids: ["a@x.io"]))
            let deleteOnly = try await client.postRegulation(regulationJSON("DELETE_ONLY", subject: "EMAIL", ids: ["a@x.io"]))
            #expect(unsuppress.status == .accepted)
            #expect(deleteOnly.status == .accepted)
        }
        #expect(await harness.store.submitted.map(\.regulationType) == [.unsuppress, .deleteOnly])
    }

    @Test func getRegulation200And404() async throws {
        let harness = try AdminHarness()
        try await harness.test { client in
            let accepted = try await client.postRegulation(regulationJSON(ids: ["u9"]))
            let id = try #require(try json(accepted)["id"] as? String)

            let found = try await client.get("/v1/regulations/\(id)")
            #expect(found.status == .ok)
            let body = try json(found)
            #expect(body["id"] as? String == id)
            #expect(body["regulationType"] as? String == "SUPPRESS_ONLY")
            #expect(body["subjectType"] as? String == "USER_ID")
            #expect(body["subjectIds"] as? [String] == ["u9"])
            #expect(body["subjectCount"] as? Int == 1)
            #expect(body["state"] as? String == "ENFORCED")
            #expect((body["receivedAt"] as? String).flatMap { try? Date.ISO8601FormatStyle().parse($0) } != nil)

            try expectError(try await client.get("/v1/regulations/\(UUID())"), .notFound, code: "not_found")
        }
    }

    @Test func getSuppressionTrueAndFalse() async throws {
        let harness = try AdminHarness(identifiers: [.userId, .email])
        try await harness.test { client in
            _ = try await client.postRegulation(regulationJSON(ids: ["user 1/x"]))
            _ = try await client.postRegulation(regulationJSON(subject: "EMAIL", ids: ["Ann+news@Example.com"]))

            let hit = try await client.get("/v1/suppressions/USER_ID/user%201%2Fx")
            #expect(hit.status == .ok)
            let body = try json(hit)
            #expect(body["subjectType"] as? String == "USER_ID")
            #expect(body["id"] as? String == "user 1/x")
            #expect(body["suppressed"] as? Bool == true)

            #expect(try json(try await client.get("/v1/suppressions/EMAIL/ann+news@example.com"))["suppressed"] as? Bool == true)
            #expect(try json(try await client.get("/v1/suppressions/USER_ID/u2"))["suppressed"] as? Bool == false)
            #expect(try json(try await client.get("/v1/suppressions/ANONYMOUS_ID/user%201%2Fx"))["suppressed"] as? Bool == false)

            _ = try await client.postRegulation(regulationJSON("UNSUPPRESS", ids: ["user 1/x"]))
            #expect(try json(try await client.get("/v1/suppressions/USER_ID/user%201%2Fx"))["suppressed"] as? Bool == false)

            try expectError(try await client.get("/v1/suppressions/PHONE/u1"), .badRequest, code: "unknown_subject_type")
            try expectError(try await client.get("/v1/suppressions/user_id/u1"), .badRequest, code: "unknown_subject_type")
        }
    }
}
