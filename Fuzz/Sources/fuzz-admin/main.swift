import ConsentAdmin
import ConsentEngine
import FuzzSupport
import Dispatch
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOEmbedded
import Prometheus

// libFuzzer target: the admin API's request handling, route and body decoding, through
// `AdminAPI.router()` without a socket. The input is a request in HTTP/1.1 text form:
// `METHOD PATH`, header lines `Name: value`, an empty line, then the body.
//
// Beyond "no crash, no hang":
// - no request gets a 5xx (the store and readiness here never fail);
// - every answer except `/metrics` is JSON, and an error is `{"error":{"code","message"}}`;
// - `/v1` answers 2xx only to the right bearer token, and never echoes the token;
// - a 202 means one regulation reached the store, with as many subjects as the answer says,
//   of a type the policy suppresses when the regulation suppresses.
private let token = "fuzz-admin-token-0123456789abcdef"
private let store = LastRegulationStore()
/// One channel for every request's context: the handlers never touch it, and a channel per
/// request would never be freed (its pipeline holds it).
private let channel = NIOAsyncTestingChannel()
private let logger = Logger(label: "fuzz-admin", factory: { _ in SwiftLogNoOpLogHandler() })
private let responder = AdminAPI(
    store: store, readiness: AlwaysReady(), registry: PrometheusCollectorRegistry(), token: try! AdminToken(token),
    suppressionIdentifiers: [.userId, .email], version: "fuzz", maxBodyBytes: 4096,
    logger: logger
).router().buildResponder()


private func check(_ request: FuzzRequest, _ answer: Answer, submitted: Int) {
    let what = "\(request.method) \(request.path.debugDescription) -> \(answer.status.code) \(String(decoding: answer.body, as: UTF8.self).debugDescription)"
    invariant(answer.status.code < 500, "server error: \(what)")
    let isV1 = request.path.hasPrefix("/v1")
    if isV1, answer.status.code < 300 {
        invariant(request.authorization.contains(token), "/v1 answered without the token: \(what)")
    }
    if !request.text.contains(token) {
        invariant(!String(decoding: answer.body, as: UTF8.self).contains(token), "the token is echoed: \(what)")
    }
    if !request.path.hasPrefix("/metrics") || answer.status.code >= 300 {
        invariant(answer.contentType == "application/json", "not JSON (\(answer.contentType ?? "no content type")): \(what)")
        let json = try? JSONSerialization.jsonObject(with: Data(answer.body)) as? [String: Any]
        invariant(json != nil, "body is not a JSON object: \(what)")
        if answer.status.code >= 400 {
            let error = json?["error"] as? [String: Any]
            invariant(error?["code"] is String && error?["message"] is String, "error without code and message: \(what)")
        }
        if answer.status == .accepted {
            invariant(submitted == 1, "202 with \(submitted) submissions: \(what)")
            invariant(json?["subjectCount"] as? Int == blocking({ await store.last?.subjectIds.count }), "subjectCount differs from the store: \(what)")
        } else {
            invariant(submitted == 0, "\(answer.status.code) yet \(submitted) submissions: \(what)")
        }
    }
    if submitted == 1, let regulation = blocking({ await store.last }), regulation.regulationType.suppresses {
        invariant([.userId, .email].contains(regulation.subjectType.identifier), "suppression of a type the policy does not suppress: \(what)")
    }
}

/// A request parsed from the fuzz input; nil when its first line is no method and path.
private struct FuzzRequest: Sendable {
    var method: HTTPRequest.Method
    var path: String
    var headers: HTTPFields
    var body: ByteBuffer
    /// The whole input as text, to tell whether a token in the answer came from the request.
    var text: String
    var authorization: String { headers[.authorization] ?? "" }

    init?(_ input: UnsafeRawBufferPointer) {
        text = String(decoding: input, as: UTF8.self)
        let headEnd = input.firstRange(of: [0x0A, 0x0A]) ?? input.endIndex..<input.endIndex
        var lines = input[..<headEnd.lowerBound].split(separator: 0x0A, omittingEmptySubsequences: false).map {
            String(decoding: $0.last == 0x0D ? $0.dropLast() : $0[...], as: UTF8.self)
        }
        guard !lines.isEmpty else { return nil }
        let requestLine = lines.removeFirst().split(separator: " ", maxSplits: 1)
        guard requestLine.count == 2, let method = HTTPRequest.Method(String(requestLine[0])) else { return nil }
        self.method = method
        path = String(requestLine[1])
        headers = HTTPFields()
        for line in lines {
            let parts = line.split(separator: ":", maxSplits: 1)
            guard parts.count == 2, let name = HTTPField.Name(String(parts[0])) else { continue }
            headers.append(HTTPField(name: name, value: parts[1].trimmingCharacters(in: .whitespaces)))
        }
        body = ByteBuffer(bytes: input[headEnd.upperBound...])
    }
}

private struct Answer: Sendable {
    var status: HTTPResponse.Status
    var contentType: String?
    var body: [UInt8]
}

private func respond(_ fuzzRequest: FuzzRequest) async -> Answer {
    let request = Request(
        head: HTTPRequest(method: fuzzRequest.method, scheme: "http", authority: "localhost", path: fuzzRequest.path, headerFields: fuzzRequest.headers),
        body: RequestBody(buffer: fuzzRequest.body))
    let context = BasicRequestContext(source: .init(channel: channel, logger: logger))
    let response: Response
    do {
        response = try await responder.respond(to: request, context: context)
    } catch {
        // What the server would answer for an error escaping the router (its 404s included).
        let status = (error as? any HTTPResponseError)?.status ?? .internalServerError
        return Answer(status: status, contentType: nil, body: Array("router threw \(error)".utf8))
    }
    let writer = CollectingWriter()
    try? await response.body.write(writer)
    return Answer(status: response.status, contentType: response.headers[.contentType], body: writer.bytes.bytes)
}

/// Collects a response body.
private struct CollectingWriter: ResponseBodyWriter {
    final class Storage: @unchecked Sendable {  // written and read by one request's task only
        var bytes: [UInt8] = []
    }
    let storage = Storage()
    var bytes: Storage { storage }

    func write(_ buffer: ByteBuffer) async throws { storage.bytes.append(contentsOf: buffer.readableBytesView) }
    func finish(_ trailingHeaders: HTTPFields?) async throws {}
}

/// Keeps only the last regulation, so a long run does not grow.
private actor LastRegulationStore: RegulationStore {
    private(set) var submissions = 0
    private(set) var last: Regulation?

    func submit(_ regulation: Regulation) {
        submissions += 1
        last = regulation
    }

    func regulation(id: String) -> RegulationStatus? {
        last.flatMap { $0.id == id ? RegulationStatus(regulation: $0, state: .enforced) : nil }
    }

    func isSuppressed(_ subjectType: SubjectType, id: String) -> Bool {
        last.map { $0.subjectType == subjectType && $0.subjectIds.contains(id) } ?? false
    }
}

private struct AlwaysReady: ReadinessProbe {
    func readiness() async -> Readiness { Readiness(checks: [.init(name: "fuzz", ok: true)]) }
}

/// Runs async work to completion from libFuzzer's synchronous callback.
private func blocking<T: Sendable>(_ work: @escaping @Sendable () async -> T) -> T {
    let box = ResultBox<T>()
    let done = DispatchSemaphore(value: 0)
    Task {
        box.value = await work()
        done.signal()
    }
    done.wait()
    return box.value!
}

private final class ResultBox<T>: @unchecked Sendable {  // written before the signal, read after the wait
    var value: T?
}

runLibFuzzer { data, size in
    guard let request = FuzzRequest(UnsafeRawBufferPointer(start: data, count: size)) else { return 0 }
    let before = blocking { await store.submissions }
    let answer = blocking { await respond(request) }
    let after = blocking { await store.submissions }
    check(request, answer, submitted: after - before)
    return 0
}
