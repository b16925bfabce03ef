import Benchmark
import ConsentEngine
import Foundation

// Issue 3 item 7. Each benchmark runs in its own child process of the benchmark tool, so the
// setup of one (corpus, 1M suppressions, 100k subscriptions, 10M userIds) never shows in
// another's memory figures.

/// What one decide benchmark works on; built in its setup, outside the measurement.
final class DecideState {
    let corpus: Corpus
    let decider: Decider
    let suppressions: Suppressions
    var subscriptions: SubscriptionStore
    var cursor = 0

    init(policy: CompiledPolicy, suppressions: Suppressions, subscriptions: SubscriptionStore) {
        corpus = Corpus.load()
        decider = Decider(policy: policy)
        self.suppressions = suppressions
        self.subscriptions = subscriptions
    }

    /// Decides the next `count` events of the corpus (cycling); returns delivered pairs.
    @inline(never)
    func decideBatch(_ count: Int) -> Int {
        var delivered = 0
        var cursor = self.cursor
        let total = corpus.count
        for _ in 0..<count {
            switch decider.decide(corpus.event(cursor), suppressions: suppressions, subscriptions: &subscriptions) {
            case .routed(let decision): delivered &+= decision.deliver.count
            case .invalid, .suppressedInvalid: delivered &-= 1_000_000
            }
            cursor += 1
            if cursor == total { cursor = 0 }
        }
        self.cursor = cursor
        return delivered
    }

    /// One pass over the corpus outside the measurement: outcome mix, for the report.
    func describe(_ name: String) {
        var invalid = 0, suppressed = 0, routed = 0, deliveries = 0, unsubscribed = 0
        var store = subscriptions
        for i in 0..<corpus.count {
            switch decider.decide(corpus.event(i), suppressions: suppressions, subscriptions: &store) {
            case .routed(let decision):
                routed += 1
                deliveries += decision.deliver.count
                if !decision.suppressed.isEmpty { suppressed += 1 }
                unsubscribed += decision.unsubscribed.count
            case .invalid, .suppressedInvalid:
                invalid += 1
            }
        }
        let line = "[\(name)] corpus: \(corpus.source); \(corpus.totalBytes) bytes, mean \(String(format: "%.1f", corpus.meanBytes)) bytes/event; "
            + "\(decider.policy.destinations.count) destinations; routed \(routed), invalid \(invalid), suppressed \(suppressed), "
            + "deliveries \(deliveries), unsubscribed drops \(unsubscribed); suppressed userIds \(suppressions.userIds.count), subscription states \(subscriptions.count)\n"
        FileHandle.standardError.write(line.data(using: .utf8)!)
    }
}

nonisolated(unsafe) var decideState: DecideState?

let decideMetrics: [BenchmarkMetric] = [.wallClock, .throughput, .mallocCountTotal]

/// 1000 decisions per iteration (`scalingFactor: .kilo`): the harness's per-iteration cost
/// stays far below the measured time. With `--scale` the tool prints raw per-iteration values
/// (mallocs per 1000 decisions, exact); without it, per-decision values rounded to integers.
/// No resident-memory metrics here: the harness allocates ~16 times per iteration to sample them.
func decideConfiguration(_ setup: @escaping () -> Void) -> Benchmark.Configuration {
    .init(
        metrics: decideMetrics,
        warmupIterations: 200,
        scalingFactor: .kilo,
        maxDuration: .seconds(5),
        maxIterations: 1_000_000,
        setup: {
            setup()
        },
        teardown: { decideState = nil }
    )
}

func runDecide(_ benchmark: Benchmark) {
    guard let state = decideState else { fatalError("setup did not run") }
    blackHole(state.decideBatch(benchmark.scaledIterations.count))
}

/// `CONSENT_GATE_BENCH_SUPPRESSIONS` (default 10,000,000) ids for the memory benchmark.
let suppressionCount = ProcessInfo.processInfo.environment["CONSENT_GATE_BENCH_SUPPRESSIONS"].flatMap(Int.init) ?? 10_000_000

let rssMetric = BenchmarkMetric.custom("VmRSS after load (MB)", polarity: .prefersSmaller, useScalingFactor: false)
let hwmMetric = BenchmarkMetric.custom("VmHWM peak (MB)", polarity: .prefersSmaller, useScalingFactor: false)
let rssBeforeMetric = BenchmarkMetric.custom("VmRSS before load (MB)", polarity: .prefersSmaller, useScalingFactor: false)
let tableMetric = BenchmarkMetric.custom("Set tables (MiB)", polarity: .prefersSmaller, useScalingFactor: false)
let loadMillisecondsMetric = BenchmarkMetric.custom("Load time (ms)", polarity: .prefersSmaller, useScalingFactor: false)

func loadSuppressions(_ benchmark: Benchmark, capacityHint: Bool) {
    let before = ProcStatus.megabytes("VmRSS")
    let clock = ContinuousClock()
    let start = clock.now
    var builder = SuppressionSet.Builder(minimumCapacity: capacityHint ? suppressionCount : 0)
    UserIdKeys.forEach(suppressionCount) { builder.insert($0) }
    let suppressions = Suppressions(userIds: builder.build())
    let elapsed = clock.now - start
    benchmark.stopMeasurement()
    let set = suppressions.userIds
    precondition(set.count == suppressionCount && set.contains("user-1000000000") && !set.contains("user-0"))
    benchmark.measurement(rssBeforeMetric, before)
    benchmark.measurement(rssMetric, ProcStatus.megabytes("VmRSS"))
    benchmark.measurement(hwmMetric, ProcStatus.megabytes("VmHWM"))
    benchmark.measurement(tableMetric, set.storageBytes >> 20)
    benchmark.measurement(loadMillisecondsMetric, Int(elapsed.components.seconds * 1000 + elapsed.components.attoseconds / 1_000_000_000_000_000))
    withExtendedLifetime(suppressions) {}
}

func memoryConfiguration() -> Benchmark.Configuration {
    .init(
        metrics: [.wallClock, .mallocCountTotal, rssBeforeMetric, rssMetric, hwmMetric, tableMetric, loadMillisecondsMetric],
        warmupIterations: 0,
        scalingFactor: .one,
        maxDuration: .seconds(600),
        maxIterations: 1
    )
}

let benchmarks: @Sendable () -> Void = {
    // 1. worker.yaml's 5 destinations, no suppressions, no subscription state.
    Benchmark("decide 5 destinations (worker.yaml)", configuration: decideConfiguration {
        let state = DecideState(policy: Fixtures.fiveDestinationPolicy(), suppressions: .empty, subscriptions: SubscriptionStore())
        state.describe("decide 5 destinations")
        decideState = state
    }) { benchmark in
        runDecide(benchmark)
    }

    // 2. + an email channel destination (with a subscription group), 100k addresses in the
    //    subscription store, 1M suppressed userIds.
    Benchmark("decide 6 destinations, email channel, 100k subscriptions, 1M suppressions", configuration: decideConfiguration {
        let state = DecideState(policy: Fixtures.sixDestinationPolicy(), suppressions: Fixtures.suppressions(userIds: 1_000_000), subscriptions: Fixtures.subscriptionStore(addresses: 100_000))
        state.describe("decide 6 destinations")
        decideState = state
    }) { benchmark in
        runDecide(benchmark)
    }

    Benchmark("control: decide 5 destinations + 1 malloc per 1000 decisions", configuration: decideConfiguration {
        decideState = DecideState(policy: Fixtures.fiveDestinationPolicy(), suppressions: .empty, subscriptions: SubscriptionStore())
    }) { benchmark in
        guard let state = decideState else { fatalError("setup did not run") }
        benchmark.startMeasurement()
        let delivered = state.decideBatch(benchmark.scaledIterations.count)
        blackHole(allocateOnce(delivered))
        benchmark.stopMeasurement()
    }

    // 3. Suppression memory: 10M userIds loaded as a topic replay delivers them.
    Benchmark("suppressions load 10M userIds, capacity hint", configuration: memoryConfiguration()) { benchmark in
        loadSuppressions(benchmark, capacityHint: true)
    }
    Benchmark("suppressions load 10M userIds, no capacity hint", configuration: memoryConfiguration()) { benchmark in
        loadSuppressions(benchmark, capacityHint: false)
    }
}

/// Positive control for the malloc counter: the same batch plus exactly one heap allocation
/// per batch of 1000 decisions, so "Malloc (total)" must read 1 per 1000 (0.001 per decision).
@inline(never) func allocateOnce(_ n: Int) -> Int {
    let array = [Int](unsafeUninitializedCapacity: 64 + n & 1) { buffer, count in buffer[0] = n; count = 1 }
    return array[0]
}
