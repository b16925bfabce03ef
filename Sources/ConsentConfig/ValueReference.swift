import Foundation

/// A value kept out of the configuration file: `${env:NAME}` (an environment variable) or
/// `${file:/path}` (a file, e.g. a mounted Kubernetes Secret), resolved once at start. A
/// ConfigMap can then be shared and reviewed without the passwords it needs.
public enum ValueReference: Sendable, Equatable {
    case environment(String)
    case file(String)

    /// Nil unless `text` is exactly one well-formed reference.
    public init?(_ text: String) {
        guard text.hasPrefix("${"), text.hasSuffix("}"), text.count > 3 else { return nil }
        let body = text.dropFirst(2).dropLast()
        if body.hasPrefix("env:") {
            let name = body.dropFirst(4)
            guard let first = name.first, first == "_" || (first.isASCII && first.isLetter),
                  name.allSatisfy({ $0 == "_" || ($0.isASCII && ($0.isLetter || $0.isNumber)) })
            else { return nil }
            self = .environment(String(name))
        } else if body.hasPrefix("file:") {
            let path = body.dropFirst(5)
            guard path.hasPrefix("/"), !path.contains("}") else { return nil }
            self = .file(String(path))
        } else {
            return nil
        }
    }
}

/// A configuration value after resolution. `isSecret` when it came from a reference: such a
/// value is passed to the client that needs it and never written to a log or an error.
public struct ResolvedValue: Sendable, Equatable {
    public var value: String
    public var isSecret: Bool

    public init(value: String, isSecret: Bool) {
        self.value = value
        self.isSecret = isSecret
    }
}

/// The values of a configuration that may be references, resolved: the librdkafka properties
/// of `kafka.client`, `kafka.consumer` and `kafka.producer` (sorted by name) and `admin.token`.
public struct ResolvedValues: Sendable, Equatable {
    public var client: [(name: String, value: ResolvedValue)] = []
    public var consumer: [(name: String, value: ResolvedValue)] = []
    public var producer: [(name: String, value: ResolvedValue)] = []
    public var adminToken: ResolvedValue?

    public static func == (lhs: ResolvedValues, rhs: ResolvedValues) -> Bool {
        func same(_ a: [(name: String, value: ResolvedValue)], _ b: [(name: String, value: ResolvedValue)]) -> Bool {
            a.count == b.count && zip(a, b).allSatisfy { $0.name == $1.name && $0.value == $1.value }
        }
        return same(lhs.client, rhs.client) && same(lhs.consumer, rhs.consumer) && same(lhs.producer, rhs.producer)
            && lhs.adminToken == rhs.adminToken
    }
}

extension Configuration {
    /// Resolves every `${env:NAME}` and `${file:/path}` value. An unset or empty variable, or
    /// an unreadable or empty file, is an issue naming the key and the variable or file, never
    /// a value. One trailing newline of a file is dropped (`echo secret > file`).
    public func resolveValues(
        file: String, environment: [String: String],
        readFile: (String) throws(InputError) -> String = InputError.readFile
    ) throws(ConfigurationError) -> ResolvedValues {
        var issues: [ConfigurationIssue] = []
        func resolve(_ text: String, _ keyPath: String) -> ResolvedValue? {
            guard let reference = ValueReference(text) else { return ResolvedValue(value: text, isSecret: false) }
            let problem: String
            switch reference {
            case .environment(let name):
                switch environment[name] {
                case let value? where !value.isEmpty: return ResolvedValue(value: value, isSecret: true)
                case .some: problem = "environment variable \(name) is empty"
                case nil: problem = "environment variable \(name) is not set"
                }
            case .file(let path):
                do {
                    var value = try readFile(path)
                    if value.hasSuffix("\n") || value.hasSuffix("\r\n") { value.removeLast() }  // "\r\n" is one Character
                    if !value.isEmpty { return ResolvedValue(value: value, isSecret: true) }
                    problem = "file \(path) is empty"
                } catch {
                    problem = "cannot read \(path): \(error.reason)"
                }
            }
            issues.append(ConfigurationIssue(keyPath: keyPath, problem: .unresolvedReference(reason: problem)))
            return nil
        }
        func resolveAll(_ properties: [String: String], _ section: String) -> [(name: String, value: ResolvedValue)] {
            properties.keys.sorted().compactMap { name in
                resolve(properties[name]!, "kafka.\(section).\(name)").map { (name: name, value: $0) }
            }
        }
        var result = ResolvedValues()
        result.client = resolveAll(kafka.client, "client")
        result.consumer = resolveAll(kafka.consumer, "consumer")
        result.producer = resolveAll(kafka.producer, "producer")
        result.adminToken = admin.token.flatMap { resolve($0, "admin.token") }
        guard issues.isEmpty else { throw ConfigurationError(file: file, issues: issues) }
        return result
    }
}
