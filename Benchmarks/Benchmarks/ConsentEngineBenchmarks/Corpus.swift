import ConsentEngine
import Foundation

/// Event values (the Kafka message value, i.e. the JSON after the tab of a gen_events.py line),
/// stored back to back in one buffer so the benchmark reads them like a consumed batch.
final class Corpus {
    let storage: UnsafeMutableRawBufferPointer
    let offsets: [Int]  // count + 1 entries
    let source: String

    var count: Int { offsets.count - 1 }
    var totalBytes: Int { offsets[count] }
    var meanBytes: Double { Double(totalBytes) / Double(count) }

    @inline(__always) func event(_ index: Int) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: storage[offsets[index]..<offsets[index + 1]])
    }

    private init(values: [[UInt8]], source: String) {
        var offsets = [0]
        offsets.reserveCapacity(values.count + 1)
        for value in values { offsets.append(offsets.last! + value.count) }
        let storage = UnsafeMutableRawBufferPointer.allocate(byteCount: max(offsets.last!, 1), alignment: 64)
        for (i, value) in values.enumerated() {
            value.withUnsafeBytes { UnsafeMutableRawBufferPointer(rebasing: storage[offsets[i]..<offsets[i + 1]]).copyMemory(from: $0) }
        }
        self.storage = storage
        self.offsets = offsets
        self.source = source
    }

    deinit { storage.deallocate() }

    /// `CONSENT_GATE_BENCH_EVENTS=<file from gen_events.py>` when set, else `count` events
    /// generated here with gen_events.py's shape and distribution (`CONSENT_GATE_BENCH_COUNT`).
    static func load() -> Corpus {
        let environment = ProcessInfo.processInfo.environment
        if let path = environment["CONSENT_GATE_BENCH_EVENTS"], !path.isEmpty {
            guard let data = FileManager.default.contents(atPath: path) else {
                fatalError("CONSENT_GATE_BENCH_EVENTS: cannot read \(path)")
            }
            var values: [[UInt8]] = []
            for line in data.split(separator: UInt8(ascii: "\n")) where !line.isEmpty {
                // <key>\t<json>: the value is what the worker decides on.
                let value = line.firstIndex(of: UInt8(ascii: "\t")).map { line[line.index(after: $0)...] } ?? line[...]
                values.append(Array(value))
            }
            return Corpus(values: values, source: "\(path) (\(values.count) events)")
        }
        let count = environment["CONSENT_GATE_BENCH_COUNT"].flatMap(Int.init) ?? 100_000
        var generator = EventGenerator(seed: 1)
        let values = (0..<count).map { _ in Array(generator.next().utf8) }
        return Corpus(values: values, source: "generated in Swift like gen_events.py (\(count) events, seed 1)")
    }
}

/// SplitMix64: deterministic, no Foundation randomness.
struct SplitMix64 {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    /// Uniform in [0, 1).
    mutating func random() -> Double { Double(next() >> 11) * 0x1.0p-53 }
    /// Uniform in a...b, inclusive, like Python's randint.
    mutating func randint(_ a: Int, _ b: Int) -> Int { a + Int(next() % UInt64(b - a + 1)) }
    mutating func choice<T>(_ items: [T]) -> T { items[Int(next() % UInt64(items.count))] }
}

/// The same event shape and distribution as ../shared/bench/gen_events.py without
/// `--malformed`: 60% track, 20% identify, 20% page; 95% carry
/// context.consent.categoryPreferences with each of 4 categories granted with p = 0.7;
/// userIds user-0...user-99999. Keys in the same order, compact separators.
struct EventGenerator {
    private var r: SplitMix64
    private var i = 0
    static let categories = ["Advertising", "Analytics", "Functional", "DataSharing"]

    init(seed: UInt64) { r = SplitMix64(state: seed) }

    mutating func next() -> String {
        defer { i += 1 }
        let uid = "user-\(r.randint(0, 99999))"
        let t = r.choice(["track", "track", "track", "identify", "page"])
        var s = "{\"type\":\"\(t)\",\"messageId\":\"m-\(i)\",\"userId\":\"\(uid)\",\"anonymousId\":\"anon-\(r.randint(0, 1_000_000_000))\","
        s += "\"timestamp\":\"2026-11-29T10:00:00.000Z\",\"sentAt\":\"2026-11-29T10:00:00.100Z\","
        s += "\"context\":{\"ip\":\"203.0.113.\(r.randint(1, 254))\",\"library\":{\"name\":\"analytics.js\",\"version\":\"2.11.1\"},"
        s += "\"userAgent\":\"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36\","
        s += "\"page\":{\"path\":\"/checkout\",\"url\":\"https://shop.example/checkout\"}"
        var tail: String
        switch t {
        case "track":
            let event = r.choice(["Order Completed", "Product Viewed", "Checkout Started"])
            let cents = Int((r.random() * 200 * 100).rounded())
            let revenue = cents % 100 == 0 ? "\(cents / 100).0" : cents % 10 == 0 ? "\(cents / 100).\(cents % 100 / 10)" : "\(cents / 100).\(cents % 100 < 10 ? "0" : "")\(cents % 100)"
            tail = ",\"event\":\"\(event)\",\"properties\":{\"revenue\":\(revenue),\"currency\":\"USD\","
            tail += "\"products\":[{\"sku\":\"sku-\(r.randint(0, 999))\",\"price\":19.99,\"quantity\":1}]}"
        case "identify":
            tail = ",\"traits\":{\"email\":\"\(uid)@example.com\",\"plan\":\"\(r.choice(["free", "pro"]))\"}"
        default:
            tail = ",\"name\":\"Checkout\",\"properties\":{\"title\":\"Checkout\",\"path\":\"/checkout\"}"
        }
        if r.random() >= 0.05 {
            let preferences = Self.categories.map { "\"\($0)\":\(r.random() < 0.7)" }.joined(separator: ",")
            s += ",\"consent\":{\"categoryPreferences\":{\(preferences)}}"
        }
        s += "}" + tail + "}"
        return s
    }
}
