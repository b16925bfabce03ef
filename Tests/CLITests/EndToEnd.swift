import Testing

/// Every test that runs `consent-gate` processes against a mock cluster, one at a time: they
/// measure latencies and kill processes, and two of them at once on a 2-core CI machine would
/// only measure each other.
@Suite("End to end", .serialized)
enum EndToEnd {}
