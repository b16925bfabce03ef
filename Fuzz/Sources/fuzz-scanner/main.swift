import FuzzSupport

// libFuzzer target: the event scanner and the decider. The input is a stream of events, one
// per line; see `EventChecker` for the invariants.

/// libFuzzer calls the target from one thread, one input at a time.
nonisolated(unsafe) private let checker = EventChecker()

runLibFuzzer { data, size in
    checker.check(UnsafeRawBufferPointer(start: data, count: size))
    return 0
}
