import ConsentEngine

/// Everything wrong with a configuration file; each issue names the file, the key path and
/// the problem, e.g. `policy.yaml:14: destinations[2].match: expected one of all, any, got 'some'`.
public struct ConfigurationError: Error, Sendable, Equatable, CustomStringConvertible {
    public var file: String
    public var issues: [ConfigurationIssue]

    public var description: String {
        issues.map { issue in
            let place = issue.line.map { "\(file):\($0)" } ?? file
            return issue.keyPath.isEmpty ? "\(place): \(issue.problem)" : "\(place): \(issue.keyPath): \(issue.problem)"
        }.joined(separator: "\n")
    }
}

public struct ConfigurationIssue: Sendable, Equatable {
    /// E.g. `destinations[2].match`; empty for the file as a whole.
    public var keyPath: String
    public var problem: ConfigurationProblem
    /// 1-based line of the offending node, when known.
    public var line: Int?

    public init(keyPath: String, problem: ConfigurationProblem, line: Int? = nil) {
        self.keyPath = keyPath
        self.problem = problem
        self.line = line
    }
}

public enum ConfigurationProblem: Sendable, Equatable, CustomStringConvertible {
    case unreadable(reason: String)
    case syntax(message: String)
    case unknownKey(String, allowed: [String])
    case missingKey
    case wrongType(expected: String, found: String)
    case notOneOf(value: String, allowed: [String])
    case invalidTopicName(String)
    case topicTemplateWithoutId(String)
    case invalidListenAddress(String)
    case invalidReference(String)
    /// A `${env:...}` / `${file:...}` reference that could not be resolved; never the value.
    case unresolvedReference(reason: String)
    case policy(PolicyProblem)

    public var description: String {
        switch self {
        case .unreadable(let reason): "cannot read file: \(reason)"
        case .syntax(let message): "not valid YAML: \(message)"
        case .unknownKey(let key, let allowed): "unknown key '\(key)' (expected one of: \(allowed.joined(separator: ", ")))"
        case .missingKey: "required key is missing"
        case .wrongType(let expected, let found): "expected \(expected), found \(found)"
        case .notOneOf(let value, let allowed): "expected one of \(allowed.joined(separator: ", ")), got '\(value)'"
        case .invalidTopicName(let name): "invalid topic name '\(name)': must be 1-249 characters of [A-Za-z0-9._-]"
        case .topicTemplateWithoutId(let template): "topic template '\(template)' must contain {id}"
        case .invalidListenAddress(let text): "invalid listen address '\(text)': expected host:port with port 0-65535 (0 picks a free port)"
        case .invalidReference(let text): "invalid reference '\(text)': expected ${env:NAME} or ${file:/absolute/path}"
        case .unresolvedReference(let reason): reason
        case .policy(let problem): problem.message
        }
    }
}
