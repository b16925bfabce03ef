import ConsentEngine

/// Decides a stream of events (the input's lines, in order, with the subscription state they
/// build up, as in the worker) against every `FuzzPolicy` and checks, beyond "no crash, no hang":
/// - deciding the same bytes twice gives the same outcomes;
/// - the outcomes do not depend on the whitespace between tokens, nor on how the letters of
///   strings are escaped (`reserialized`, one layout per input);
/// - a routed decision puts every destination in exactly one of deliver and the drop reasons
///   (an invalid outcome carries no destination at all: it cannot deliver);
/// - a routed event is one Foundation reads as an object with a known type and an identity;
/// - a subject on the list delivers nowhere and changes no subscription.
public final class EventChecker {
    /// Inputs split into more lines than this are cut: longer streams add time, not coverage.
    public static let maxLines = 32

    let policies: [FuzzPolicy]
    private let deciders: [Decider]

    public init(policies: [FuzzPolicy] = FuzzPolicy.all) {
        self.policies = policies
        deciders = policies.map { Decider(policy: $0.policy) }
    }

    /// Checks the stream; returns its outcomes per policy for a caller's own invariants.
    @discardableResult
    public func check(_ input: UnsafeRawBufferPointer) -> [[Outcome]] {
        let lines = input.split(separator: 0x0A, maxSplits: Self.maxLines - 1, omittingEmptySubsequences: false).map(Array.init)
        // Read with Foundation only what some policy routed: most mutated lines are invalid.
        var readings = [FoundationReading?](repeating: nil, count: lines.count)
        return zip(policies, deciders).map { fuzzPolicy, decider in
            let outcomes = decide(lines, decider, fuzzPolicy)
            let again = decide(lines, decider, fuzzPolicy)
            for (index, (first, second)) in zip(outcomes, again).enumerated() {
                invariant(same(first, second), "\(fuzzPolicy.name): line \(index + 1) decided twice: \(first) then \(second); line \(quoted(lines[index]))")
            }
            checkWhitespaceIndependence(lines, outcomes, decider, fuzzPolicy)
            for (index, outcome) in outcomes.enumerated() {
                guard case .routed(let decision) = outcome else { continue }
                if readings[index] == nil { readings[index] = FoundationReading(lines[index]) }
                checkRouted(decision, readings[index]!, fuzzPolicy, line: lines[index])
            }
            return outcomes
        }
    }

    private func decide(_ lines: [[UInt8]], _ decider: Decider, _ fuzzPolicy: FuzzPolicy) -> [Outcome] {
        var subscriptions = SubscriptionStore()
        return lines.map { line in
            line.withUnsafeBytes { decider.decide($0, suppressions: fuzzPolicy.suppressions, subscriptions: &subscriptions) }
        }
    }

    private func checkWhitespaceIndependence(_ lines: [[UInt8]], _ outcomes: [Outcome], _ decider: Decider, _ fuzzPolicy: FuzzPolicy) {
        let limit = fuzzPolicy.policy.limits.maxEventBytes
        // One layout per input, chosen by its length so a finding replays the same way (all of
        // them would cost half the executions).
        let layouts = Reserialization.allCases
        let layout = layouts[lines.reduce(0) { $0 + $1.count } % layouts.count]
        let variant = lines.map { reserialized($0, as: layout) }
        // Size is the one thing whitespace may change; the state of later lines depends on
        // earlier ones, so a line pushed over the limit ends the comparison.
        let comparable = zip(lines, variant).prefix { $0.count <= limit && $1.count <= limit }.count
        let variantOutcomes = decide(Array(variant.prefix(comparable)), decider, fuzzPolicy)
        for index in 0..<comparable {
            invariant(
                same(outcomes[index], variantOutcomes[index]),
                "\(fuzzPolicy.name): line \(index + 1) depends on its layout (\(layout)): \(outcomes[index]) for \(quoted(lines[index])), \(variantOutcomes[index]) for \(quoted(variant[index]))")
        }
    }

    private func checkRouted(_ decision: Decision, _ reading: FoundationReading, _ fuzzPolicy: FuzzPolicy, line: [UInt8]) {
        let all = fuzzPolicy.policy.all
        var covered = decision.deliver
        var total = decision.deliver.count
        for reason in DropReason.allCases {
            let dropped = decision.dropped(for: reason)
            covered.formUnion(dropped)
            total += dropped.count
        }
        invariant(covered == all && total == all.count, "\(fuzzPolicy.name): deliver and drops do not partition the destinations: \(decision) for \(quoted(line))")

        invariant(reading.object != nil, "\(fuzzPolicy.name): routed an event Foundation does not read as an object: \(quoted(line))")
        invariant(
            reading.type.map(FoundationReading.eventTypes.contains) == true,
            "\(fuzzPolicy.name): routed an event whose type is not one of the six: \(quoted(line))")
        invariant(
            reading.nonEmptyString("userId") != nil || reading.nonEmptyString("anonymousId") != nil,
            "\(fuzzPolicy.name): routed an event without a userId or anonymousId: \(quoted(line))")
        if reading.isSuppressed(under: fuzzPolicy) {
            invariant(
                decision.deliver.isEmpty && decision.subscriptionUpdates.isEmpty,
                "\(fuzzPolicy.name): a suppressed subject was delivered or changed subscriptions: \(decision) for \(quoted(line))")
        }
    }
}

func same(_ a: Outcome, _ b: Outcome) -> Bool {
    switch (a, b) {
    case (.routed(let x), .routed(let y)): x == y
    case (.invalid(let x), .invalid(let y)): x == y
    case (.suppressedInvalid(let x), .suppressedInvalid(let y)): x == y
    default: false
    }
}
