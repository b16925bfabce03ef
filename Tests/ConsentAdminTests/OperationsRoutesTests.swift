import ConsentAdmin
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

@Suite struct OperationsRoutesTests {
    @Test func healthzIsOpenAndOK() async throws {
        let harness = try AdminHarness()
        try await harness.test { client in
            let response = try await client.get("/healthz", headers: [:])
            #expect(response.status == .ok)
            #expect(String(buffer: response.body) == #"{"status":"ok"}"#)
        }
    }

    @Test func readyzIs200WhenEveryCheckPasses() async throws {
        let harness = try AdminHarness(readiness: Readiness(checks: [
            .init(name: "partitions_assigned", ok: true), .init(name: "state_caught_up", ok: true),
        ]))
        try await harness.test { client in
            let response = try await client.get("/readyz", headers: [:])
            #expect(response.status == .ok)
            let body = try json(response)
            #expect(body["status"] as? String == "ready")
            #expect((body["checks"] as? [[String: Any]])?.compactMap { $0["name"] as? String } == ["partitions_assigned", "state_caught_up"])
        }
    }

    @Test func readyzIs503WhenACheckFails() async throws {
        let harness = try AdminHarness(readiness: Readiness(checks: [
            .init(name: "partitions_assigned", ok: true),
            .init(name: "state_caught_up", ok: false, detail: "suppressions at 10 of 20"),
        ]))
        try await harness.test { client in
            let response = try await client.get("/readyz", headers: [:])
            #expect(response.status == .serviceUnavailable)
            let body = try json(response)
            #expect(body["status"] as? String == "not_ready")
            let failed = (body["checks"] as? [[String: Any]])?.last
            #expect(failed?["ok"] as? Bool == false)
            #expect(failed?["detail"] as? String == "suppressions at 10 of 20")
        }
    }

    @Test func metricsCountAcceptedRegulationsOnly() async throws {
        let harness = try AdminHarness()
        try await harness.test { client in
            let before = try await client.get("/metrics", headers: [:])
            #expect(before.status == .ok)
            #expect(before.headers[.contentType] == "text/plain; version=0.0.4; charset=utf-8")
            let beforeText = String(buffer: before.body)
            #expect(beforeText.contains(#"consent_gate_build_info{version="1.2.3-test"} 1"#))
            #expect(beforeText.contains(#"consent_gate_regulations_total{type="SUPPRESS_ONLY"} 0"#))

            _ = try await client.postRegulation(regulationJSON())
            _ = try await client.postRegulation(regulationJSON())
            _ = try await client.postRegulation(regulationJSON("UNSUPPRESS"))
            _ = try await client.postRegulation(regulationJSON("BOGUS"))  // refused: not counted

            let text = String(buffer: try await client.get("/metrics", headers: [:]).body)
            #expect(text.contains("# TYPE consent_gate_regulations_total counter"))
            #expect(text.contains(#"consent_gate_regulations_total{type="SUPPRESS_ONLY"} 2"#))
            #expect(text.contains(#"consent_gate_regulations_total{type="UNSUPPRESS"} 1"#))
            #expect(text.contains(#"consent_gate_regulations_total{type="DELETE_ONLY"} 0"#))
        }
    }
}
