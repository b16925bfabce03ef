import Metrics

/// The admin API's own metrics (names in docs/metrics.md). The factory is injected so tests
/// can count into their own registry instead of the process-wide `MetricsSystem`.
struct AdminMetrics: Sendable {
    private let regulations: [RegulationType: Counter]

    /// Registers `consent_gate_build_info{version} 1` and a zero counter per regulation type,
    /// so every series exists from the first scrape (rates need a starting point).
    init(factory: any MetricsFactory, version: String) {
        Gauge(label: "consent_gate_build_info", dimensions: [("version", version)], factory: factory).record(1)
        var regulations: [RegulationType: Counter] = [:]
        for type in RegulationType.allCases {
            let counter = Counter(label: "consent_gate_regulations_total", dimensions: [("type", type.rawValue)], factory: factory)
            counter.increment(by: 0)
            regulations[type] = counter
        }
        self.regulations = regulations
    }

    func accepted(_ type: RegulationType) {
        regulations[type]?.increment()
    }
}
