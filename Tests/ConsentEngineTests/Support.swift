import ConsentEngine

/// The conformance suite's consent policy, plus messaging destinations.
let standardPolicy = Policy(
    categories: ["Advertising", "Analytics", "Functional", "DataSharing", "Caf\u{E9}"],
    destinations: [
        Destination(id: "ads", categories: ["Advertising"], integrationName: "Google Ads"),
        Destination(id: "fb", categories: ["Advertising", "DataSharing"], sale: true),
        Destination(id: "amp", categories: ["Analytics"]),
        Destination(id: "anyd", categories: ["Analytics", "Functional"], match: .any),
        Destination(id: "strict", categories: ["Functional"], missingConsent: .deny),
        Destination(id: "s3"),
        Destination(id: "archive", categories: ["Advertising"], enforceConsent: false),
        Destination(id: "cafe", categories: ["Caf\u{E9}"]),
    ]
)

let messagingPolicy = Policy(destinations: [
    Destination(id: "mail", channel: .email),
    Destination(id: "news", channel: .email, subscriptionGroup: "Newsletter"),
    Destination(id: "sms", channel: .sms),
    Destination(id: "wa", channel: .whatsapp),
    Destination(id: "web"),
])

func compile(_ policy: Policy) -> CompiledPolicy {
    do {
        return try CompiledPolicy(policy)
    } catch {
        fatalError("test policy does not compile: \(error)")
    }
}

/// A decision rendered by destination id, easy to compare in expectations.
struct Routed: Equatable, CustomStringConvertible {
    var deliver: [String]
    var drop: [String: DropReason]

    var description: String { "deliver \(deliver) drop \(drop.sorted { $0.key < $1.key })" }
}

enum RenderedOutcome: Equatable {
    case invalid(InvalidReason)
    case suppressedInvalid(InvalidReason)
    case routed(Routed)
}

/// Decides `json` and renders the outcome with destination ids.
func decide(
    _ json: String, policy: CompiledPolicy, suppressions: Suppressions = .empty,
    subscriptions: inout SubscriptionStore
) -> RenderedOutcome {
    let decider = Decider(policy: policy)
    let outcome = Array(json.utf8).withUnsafeBytes {
        decider.decide($0, suppressions: suppressions, subscriptions: &subscriptions)
    }
    return render(outcome, policy)
}

func decide(_ json: String, policy: CompiledPolicy, suppressions: Suppressions = .empty) -> RenderedOutcome {
    var subscriptions = SubscriptionStore()
    return decide(json, policy: policy, suppressions: suppressions, subscriptions: &subscriptions)
}

func render(_ outcome: Outcome, _ policy: CompiledPolicy) -> RenderedOutcome {
    switch outcome {
    case .invalid(let reason):
        return .invalid(reason)
    case .suppressedInvalid(let reason):
        return .suppressedInvalid(reason)
    case .routed(let decision):
        var drop: [String: DropReason] = [:]
        for (index, destination) in policy.destinations.enumerated() {
            if let reason = decision.dropReason(forDestination: index) {
                precondition(!decision.deliver.contains(index), "\(destination.id) both delivered and dropped")
                drop[destination.id] = reason
            } else {
                precondition(decision.deliver.contains(index), "\(destination.id) neither delivered nor dropped")
            }
        }
        return .routed(Routed(deliver: decision.deliver.map { policy.destinations[$0].id }.sorted(), drop: drop))
    }
}

func routed(_ deliver: [String], _ drop: [String: DropReason] = [:]) -> RenderedOutcome {
    .routed(Routed(deliver: deliver.sorted(), drop: drop))
}

/// What the scanner extracted, copied out of the scan's buffers.
struct Extracted: Equatable {
    var type: EventType?
    var messageId: String?
    var userId: String?
    var numericUserId: String?
    var anonymousId: String?
    var emails: [String?]
    var phones: [String?]
    var hasPreferences: Bool
    var granted: [String]
    var gpc: Bool
    var isConsentChange: Bool
    var integrationsDisabled: [String]
    var integrationsEnabled: [String]
    var allIntegrationsDisabled: Bool
}

/// Scans raw bytes; `.failure` carries the invalid reason.
func scan(_ bytes: [UInt8], policy: CompiledPolicy) -> Result<Extracted, InvalidReason> {
    let scanner = EventScanner(policy: policy)
    return bytes.withUnsafeBytes { buffer in
        scanner.scan(buffer).map { event in
            Extracted(
                type: event.type,
                messageId: event.messageId?.string,
                userId: event.userId?.string,
                numericUserId: event.numericUserId?.string,
                anonymousId: event.anonymousId?.string,
                emails: ContactSource.allCases.map { event.emails[$0]?.string },
                phones: ContactSource.allCases.map { event.phones[$0]?.string },
                hasPreferences: event.hasPreferences,
                granted: policy.categoryNames(event.grantedCategories),
                gpc: event.gpc,
                isConsentChange: event.isConsentChange,
                integrationsDisabled: event.integrationsDisabled.map { policy.destinations[$0].id },
                integrationsEnabled: event.integrationsEnabled.map { policy.destinations[$0].id },
                allIntegrationsDisabled: event.allIntegrationsDisabled
            )
        }
    }
}

func scan(_ json: String, policy: CompiledPolicy) -> Result<Extracted, InvalidReason> {
    scan(Array(json.utf8), policy: policy)
}

extension Result {
    var failureValue: Failure? {
        if case .failure(let error) = self { return error }
        return nil
    }

    var successValue: Success? {
        if case .success(let value) = self { return value }
        return nil
    }
}
