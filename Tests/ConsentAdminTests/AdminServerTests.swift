@testable import ConsentAdmin
import Hummingbird
import HummingbirdTesting
import Logging
import ServiceLifecycle
import Testing

@Suite struct AdminServerTests {
    /// Binds port 0 on loopback, reports the real port, serves over TCP, and stops on
    /// graceful shutdown of its service group.
    @Test func servesOnReportedPortAndShutsDownGracefully() async throws {
        let harness = try AdminHarness()
        let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
        let logger = Logger(label: "admin-test")
        let server = AdminServer(host: "127.0.0.1", port: 0, api: harness.api, logger: logger) { continuation.yield($0) }
        let group = ServiceGroup(services: [server], logger: logger)
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            var iterator = ports.makeAsyncIterator()
            let port = try #require(await iterator.next())
            #expect(port > 0)
            try await TestClient.withClient(host: "127.0.0.1", port: port) { client in
                let health = try await client.get("/healthz")
                #expect(health.status == .ok)
                let refused = try await client.post("/v1/regulations", headers: [.contentType: "application/json"], body: ByteBuffer(string: regulationJSON()))
                #expect(refused.status == .unauthorized)
                let accepted = try await client.post("/v1/regulations", headers: authorized, body: ByteBuffer(string: regulationJSON()))
                #expect(accepted.status == .accepted)
            }
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
        #expect(await harness.store.submitted.count == 1)
    }

    @Test func listenHostSpellings() {
        #expect(AdminServer.bindHost("127.0.0.1") == "127.0.0.1")
        #expect(AdminServer.bindHost("[::1]") == "::1")
        #expect(AdminServer.bindHost("") == "0.0.0.0")
        #expect(AdminServer.bindHost("localhost") == "localhost")
    }
}
