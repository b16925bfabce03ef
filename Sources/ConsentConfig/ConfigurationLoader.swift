import ConsentEngine
import Foundation
import Yams

extension Configuration {
    /// Reads, parses and validates a configuration file (YAML; JSON is valid YAML).
    public static func load(file path: String) throws(ConfigurationError) -> Configuration {
        let text: String
        do {
            text = try InputError.readFile(path)
        } catch {
            throw ConfigurationError(file: path, issues: [ConfigurationIssue(keyPath: "", problem: .unreadable(reason: error.reason))])
        }
        return try parse(yaml: text, file: path)
    }

    /// Parses and validates configuration text; `file` names it in errors. Collects every issue.
    public static func parse(yaml text: String, file: String) throws(ConfigurationError) -> Configuration {
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch {
            throw ConfigurationError(file: file, issues: [ConfigurationIssue(keyPath: "", problem: .syntax(message: Self.reason(error)))])
        }
        var reader = ConfigurationReader()
        let configuration = reader.read(root)
        guard let configuration, reader.issues.isEmpty else {
            throw ConfigurationError(file: file, issues: reader.issues)
        }
        return configuration
    }

    private static func reason(_ error: any Error) -> String {
        String(describing: error).split(separator: "\n").joined(separator: " ")
    }
}

/// Walks the YAML tree, building the typed configuration and collecting issues with key paths.
struct ConfigurationReader {
    var issues: [ConfigurationIssue] = []
    /// Line of each key path seen, to place policy violations found after reading.
    private var lines: [String: Int] = [:]
    /// `kafka.destinationTopicTemplate`, read before the destinations.
    private var destinationTopicTemplate = KafkaSettings().destinationTopicTemplate

    static let topKeys = ["kafka", "limits", "categories", "suppression", "destinations", "admin"]
    static let kafkaKeys = ["brokers", "groupId", "ingestTopic", "deadLetterTopic", "suppressionTopic", "subscriptionTopic", "regulationTopic", "auditTopic",
                            "destinationTopicTemplate", "client", "consumer", "producer"]
    static let adminKeys = ["listen", "token"]
    static let destinationKeys = ["id", "categories", "match", "missingConsent", "enforceConsent", "integrationName", "sale",
                                  "channel", "subscriptionGroup", "topic", "tcf", "usOptOuts", "googleConsent"]
    static let tcfKeys = ["vendorId", "purposes", "flexiblePurposes", "specialFeatures", "required"]

    mutating func read(_ root: Node?) -> Configuration? {
        guard let root else {
            issue("", .wrongType(expected: "mapping", found: "an empty document"), nil)
            return nil
        }
        guard let top = mapping(root, "", allowed: Self.topKeys) else { return nil }

        var kafka = KafkaSettings()
        if let node = top["kafka"], let map = mapping(node, "kafka", allowed: Self.kafkaKeys) {
            let path = { (key: String) in "kafka.\(key)" }
            if let v = map["brokers"].flatMap({ string($0, path("brokers"), nonEmpty: true) }) { kafka.brokers = v }
            if let v = map["groupId"].flatMap({ string($0, path("groupId"), nonEmpty: true) }) { kafka.groupId = v }
            if let v = map["ingestTopic"].flatMap({ topic($0, path("ingestTopic")) }) { kafka.ingestTopic = v }
            if let v = map["deadLetterTopic"].flatMap({ topic($0, path("deadLetterTopic")) }) { kafka.deadLetterTopic = v }
            if let v = map["suppressionTopic"].flatMap({ topic($0, path("suppressionTopic")) }) { kafka.suppressionTopic = v }
            if let v = map["subscriptionTopic"].flatMap({ topic($0, path("subscriptionTopic")) }) { kafka.subscriptionTopic = v }
            if let v = map["regulationTopic"].flatMap({ topic($0, path("regulationTopic")) }) { kafka.regulationTopic = v }
            if let v = map["auditTopic"].flatMap({ topic($0, path("auditTopic")) }) { kafka.auditTopic = v }
            if let node = map["destinationTopicTemplate"], let v = string(node, path("destinationTopicTemplate"), nonEmpty: true) {
                if !v.contains(KafkaSettings.idPlaceholder) {
                    issue(path("destinationTopicTemplate"), .topicTemplateWithoutId(v), node)
                } else if !Self.isTopicName(v.replacingOccurrences(of: KafkaSettings.idPlaceholder, with: "x")) {
                    issue(path("destinationTopicTemplate"), .invalidTopicName(v), node)
                } else {
                    kafka.destinationTopicTemplate = v
                }
            }
            destinationTopicTemplate = kafka.destinationTopicTemplate
            if let v = map["client"].flatMap({ properties($0, path("client")) }) { kafka.client = v }
            if let v = map["consumer"].flatMap({ properties($0, path("consumer")) }) { kafka.consumer = v }
            if let v = map["producer"].flatMap({ properties($0, path("producer")) }) { kafka.producer = v }
        }

        var limits = Limits()
        if let node = top["limits"], let map = mapping(node, "limits", allowed: ["maxEventBytes", "maxDepth"]) {
            if let v = map["maxEventBytes"].flatMap({ int($0, "limits.maxEventBytes") }) { limits.maxEventBytes = v }
            if let v = map["maxDepth"].flatMap({ int($0, "limits.maxDepth") }) { limits.maxDepth = v }
        }

        let categories = top["categories"].flatMap { stringList($0, "categories") }

        var identifiers: [SuppressionIdentifier] = [.userId]
        if let node = top["suppression"], let map = mapping(node, "suppression", allowed: ["identifiers"]),
           let list = map["identifiers"].flatMap({ sequence($0, "suppression.identifiers") }) {
            identifiers = list.enumerated().compactMap { i, item in
                choice(item, "suppression.identifiers[\(i)]", SuppressionIdentifier.self)
            }
        }

        var destinations: [Destination] = []
        if let node = top["destinations"] {
            for (i, item) in (sequence(node, "destinations") ?? []).enumerated() {
                if let destination = destination(item, "destinations[\(i)]") { destinations.append(destination) }
            }
        } else {
            issue("destinations", .missingKey, root)
        }

        var admin = AdminSettings()
        if let node = top["admin"], let map = mapping(node, "admin", allowed: Self.adminKeys) {
            if let listenNode = map["listen"], let text = string(listenNode, "admin.listen", nonEmpty: true) {
                if let address = ListenAddress(parsing: text) {
                    admin.listen = address
                } else {
                    issue("admin.listen", .invalidListenAddress(text), listenNode)
                }
            }
            if let tokenNode = map["token"], let text = string(tokenNode, "admin.token", nonEmpty: true) {
                if checkReference(text, "admin.token", tokenNode) { admin.token = text }
            }
        }

        let policy = Policy(limits: limits, categories: categories, suppressionIdentifiers: identifiers, destinations: destinations)
        // Policy rules apply only once every destination was read, or indices would shift.
        if issues.isEmpty {
            for violation in policy.violations() {
                let path = violation.location.keyPath
                issues.append(ConfigurationIssue(keyPath: path, problem: .policy(violation.problem), line: line(near: path)))
            }
        }
        return Configuration(kafka: kafka, policy: policy, admin: admin)
    }

    private mutating func destination(_ node: Node, _ path: String) -> Destination? {
        guard let map = mapping(node, path, allowed: Self.destinationKeys) else { return nil }
        let key = { (name: String) in "\(path).\(name)" }
        guard let idNode = map["id"] else {
            issue(key("id"), .missingKey, node)
            return nil
        }
        guard let id = string(idNode, key("id"), nonEmpty: false) else { return nil }
        var destination = Destination(id: id)
        if let v = map["categories"].flatMap({ stringList($0, key("categories")) }) { destination.categories = v }
        if let v = map["match"].flatMap({ choice($0, key("match"), CategoryMatch.self) }) { destination.match = v }
        if let v = map["missingConsent"].flatMap({ choice($0, key("missingConsent"), MissingConsent.self) }) { destination.missingConsent = v }
        if let v = map["enforceConsent"].flatMap({ bool($0, key("enforceConsent")) }) { destination.enforceConsent = v }
        if let v = map["integrationName"].flatMap({ string($0, key("integrationName"), nonEmpty: false) }) { destination.integrationName = v }
        if let v = map["sale"].flatMap({ bool($0, key("sale")) }) { destination.sale = v }
        if let v = map["channel"].flatMap({ choice($0, key("channel"), Channel.self) }) { destination.channel = v }
        if let v = map["subscriptionGroup"].flatMap({ string($0, key("subscriptionGroup"), nonEmpty: false) }) { destination.subscriptionGroup = v }
        if let v = map["topic"].flatMap({ topic($0, key("topic")) }) { destination.topic = v }
        if let node = map["tcf"] { destination.tcf = tcfRequirement(node, key("tcf")) }
        if let v = map["usOptOuts"].flatMap({ choiceList($0, key("usOptOuts"), USOptOut.self) }) { destination.usOptOuts = v }
        if let v = map["googleConsent"].flatMap({ choiceList($0, key("googleConsent"), GoogleConsentType.self) }) { destination.googleConsent = v }
        if destination.topic == nil, Policy.isValidIdentifier(id) {
            // The template's output for this id must be a valid topic too (length limit).
            let resolved = destinationTopicTemplate.replacingOccurrences(of: KafkaSettings.idPlaceholder, with: id)
            if !Self.isTopicName(resolved) { issue(key("id"), .invalidTopicName(resolved), idNode) }
        }
        return destination
    }

    /// `tcf:` of a destination; ranges and list rules are checked with the policy.
    private mutating func tcfRequirement(_ node: Node, _ path: String) -> TCFRequirement? {
        guard let map = mapping(node, path, allowed: Self.tcfKeys) else { return nil }
        let key = { (name: String) in "\(path).\(name)" }
        guard let vendorNode = map["vendorId"] else {
            issue(key("vendorId"), .missingKey, node)
            return nil
        }
        guard let vendorId = int(vendorNode, key("vendorId")) else { return nil }
        var requirement = TCFRequirement(vendorId: vendorId)
        if let v = map["purposes"].flatMap({ intList($0, key("purposes")) }) { requirement.purposes = v }
        if let v = map["flexiblePurposes"].flatMap({ intList($0, key("flexiblePurposes")) }) { requirement.flexiblePurposes = v }
        if let v = map["specialFeatures"].flatMap({ intList($0, key("specialFeatures")) }) { requirement.specialFeatures = v }
        if let v = map["required"].flatMap({ bool($0, key("required")) }) { requirement.required = v }
        return requirement
    }

    // MARK: Typed readers; each reports its own issue and returns nil on failure.

    /// A mapping with string keys; a null node counts as an empty mapping.
    private mutating func mapping(_ node: Node, _ path: String, allowed: [String]) -> [String: Node]? {
        if isNull(node) { return [:] }
        guard case .mapping(let map) = node else {
            issue(path, .wrongType(expected: "a mapping", found: Self.kind(node)), node)
            return nil
        }
        var result: [String: Node] = [:]
        for (keyNode, value) in map {
            guard case .scalar(let scalar) = keyNode else {
                issue(path, .wrongType(expected: "string keys", found: Self.kind(keyNode)), keyNode)
                continue
            }
            let childPath = path.isEmpty ? scalar.string : "\(path).\(scalar.string)"
            guard allowed.contains(scalar.string) else {
                issue(childPath, .unknownKey(scalar.string, allowed: allowed), keyNode)
                continue
            }
            lines[childPath] = line(of: keyNode)
            if !isNull(value) { result[scalar.string] = value }
        }
        return result
    }

    private mutating func sequence(_ node: Node, _ path: String) -> [Node]? {
        guard case .sequence(let items) = node else {
            issue(path, .wrongType(expected: "a list", found: Self.kind(node)), node)
            return nil
        }
        for (i, item) in items.enumerated() { lines["\(path)[\(i)]"] = line(of: item) }
        return Array(items)
    }

    /// A string; plain numbers are taken as their text (`groupId: 42`), booleans and nulls are not.
    private mutating func string(_ node: Node, _ path: String, nonEmpty: Bool) -> String? {
        guard case .scalar(let scalar) = node, [Tag.Name.str, .int, .float].contains(Self.tagName(node)) else {
            issue(path, .wrongType(expected: "a string", found: Self.kind(node)), node)
            return nil
        }
        if nonEmpty && scalar.string.isEmpty {
            issue(path, .policy(.emptyName), node)
            return nil
        }
        return scalar.string
    }

    private mutating func stringList(_ node: Node, _ path: String) -> [String]? {
        guard let items = sequence(node, path) else { return nil }
        let strings = items.enumerated().compactMap { i, item in string(item, "\(path)[\(i)]", nonEmpty: false) }
        return strings.count == items.count ? strings : nil
    }

    private mutating func intList(_ node: Node, _ path: String) -> [Int]? {
        guard let items = sequence(node, path) else { return nil }
        let values = items.enumerated().compactMap { i, item in int(item, "\(path)[\(i)]") }
        return values.count == items.count ? values : nil
    }

    private mutating func choiceList<E: RawRepresentable & CaseIterable>(_ node: Node, _ path: String, _ type: E.Type) -> [E]?
    where E.RawValue == String {
        guard let items = sequence(node, path) else { return nil }
        let values = items.enumerated().compactMap { i, item in choice(item, "\(path)[\(i)]", type) }
        return values.count == items.count ? values : nil
    }

    private mutating func int(_ node: Node, _ path: String) -> Int? {
        guard Self.tagName(node) == .int, let value = node.int else {
            issue(path, .wrongType(expected: "an integer", found: Self.kind(node)), node)
            return nil
        }
        return value
    }

    private mutating func bool(_ node: Node, _ path: String) -> Bool? {
        guard Self.tagName(node) == .bool, let value = node.bool else {
            issue(path, .wrongType(expected: "true or false", found: Self.kind(node)), node)
            return nil
        }
        return value
    }

    private mutating func choice<E: RawRepresentable & CaseIterable>(_ node: Node, _ path: String, _: E.Type) -> E?
    where E.RawValue == String {
        guard let text = string(node, path, nonEmpty: false) else { return nil }
        guard let value = E(rawValue: text) else {
            issue(path, .notOneOf(value: text, allowed: E.allCases.map(\.rawValue)), node)
            return nil
        }
        return value
    }

    private mutating func topic(_ node: Node, _ path: String) -> String? {
        guard let name = string(node, path, nonEmpty: false) else { return nil }
        guard Self.isTopicName(name) else {
            issue(path, .invalidTopicName(name), node)
            return nil
        }
        return name
    }

    /// librdkafka properties: string values; numbers and booleans are passed as their text.
    private mutating func properties(_ node: Node, _ path: String) -> [String: String]? {
        if isNull(node) { return [:] }
        guard case .mapping(let map) = node else {
            issue(path, .wrongType(expected: "a mapping of librdkafka properties", found: Self.kind(node)), node)
            return nil
        }
        var result: [String: String] = [:]
        for (keyNode, value) in map {
            guard case .scalar(let key) = keyNode else {
                issue(path, .wrongType(expected: "string keys", found: Self.kind(keyNode)), keyNode)
                continue
            }
            let childPath = "\(path).\(key.string)"
            guard case .scalar(let scalar) = value, [Tag.Name.str, .int, .float, .bool].contains(Self.tagName(value)) else {
                issue(childPath, .wrongType(expected: "a string, number or boolean", found: Self.kind(value)), value)
                continue
            }
            let text = Self.tagName(value) == .bool ? String(value.bool!) : scalar.string
            if checkReference(text, childPath, value) { result[key.string] = text }
        }
        return result
    }

    /// False (with an issue) for a value that looks like a reference but is not a valid one,
    /// e.g. `${ENV:X}` or `${file:relative}`, so it cannot pass as a literal by accident.
    private mutating func checkReference(_ text: String, _ path: String, _ node: Node) -> Bool {
        guard text.hasPrefix("${") else { return true }
        guard ValueReference(text) != nil else {
            issue(path, .invalidReference(text), node)
            return false
        }
        return true
    }

    // MARK: Helpers

    /// The resolved YAML tag of a node (str, int, float, bool, null, map, seq).
    private static func tagName(_ node: Node) -> Tag.Name { Tag.Name(rawValue: node.tag.rawValue) }

    static func isTopicName(_ name: String) -> Bool {
        name.utf8.count <= 249 && Policy.isValidIdentifier(name)
    }

    private func isNull(_ node: Node) -> Bool {
        Self.tagName(node) == .null
    }

    private static func kind(_ node: Node) -> String {
        switch node {
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        case .alias: return "an alias"
        case .scalar(let scalar):
            switch Self.tagName(node) {
            case .null: return "null"
            case .bool: return "boolean \(scalar.string)"
            case .int: return "integer \(scalar.string)"
            case .float: return "number \(scalar.string)"
            default: return "string '\(scalar.string)'"
            }
        }
    }

    private func line(of node: Node) -> Int? { node.mark?.line }

    /// The line of `path` or of its nearest recorded parent.
    private func line(near path: String) -> Int? {
        var current = Substring(path)
        while !current.isEmpty {
            if let line = lines[String(current)] { return line }
            guard let cut = current.lastIndex(where: { $0 == "." || $0 == "[" }) else { break }
            current = current[..<cut]
        }
        return nil
    }

    private mutating func issue(_ path: String, _ problem: ConfigurationProblem, _ node: Node?) {
        issues.append(ConfigurationIssue(keyPath: path, problem: problem, line: node.flatMap(line(of:))))
    }
}
