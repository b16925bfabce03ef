import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// A small HTTP client for a worker's admin listener.
package struct AdminClient: Sendable {
    package let port: Int
    package var token: String?

    package init(port: Int, token: String? = WorkerFixture.adminToken) {
        self.port = port
        self.token = token
    }

    package struct Response: Sendable {
        package let status: Int
        package let body: String
        package var json: [String: Any]? { (try? JSONSerialization.jsonObject(with: Data(body.utf8))) as? [String: Any] }
    }

    package func get(_ path: String) async throws -> Response {
        try await send("GET", path, body: nil)
    }

    package func post(_ path: String, json: Any) async throws -> Response {
        try await send("POST", path, body: try JSONSerialization.data(withJSONObject: json))
    }

    package func send(_ method: String, _ path: String, body: Data?) async throws -> Response {
        var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)\(path)")!)
        request.httpMethod = method
        request.timeoutInterval = 10
        if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        if let body {
            request.httpBody = body
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        }
        let (data, response) = try await URLSession.shared.data(for: request)
        return Response(status: (response as! HTTPURLResponse).statusCode, body: String(decoding: data, as: UTF8.self))
    }

    /// Sample values of a metric from `/metrics`, by label set text (e.g. `destination="amplitude"`).
    package func metric(_ name: String) async throws -> [String: Double] {
        let text = try await get("/metrics").body
        var values: [String: Double] = [:]
        for line in text.split(separator: "\n") where line.hasPrefix(name) && !line.hasPrefix("#") {
            let parts = line.split(separator: " ")
            guard parts.count >= 2, let value = Double(parts[parts.count - 1]) else { continue }
            let series = parts[0]
            guard series == name || series.hasPrefix(name + "{") else { continue }
            let labels = series.dropFirst(name.count).trimmingCharacters(in: CharacterSet(charactersIn: "{}"))
            values[labels] = value
        }
        return values
    }
}
