/// Stops the run when an invariant does not hold: libFuzzer saves the input as a crash
/// artifact and `make fuzz` fails. The message says which invariant and on what.
public func invariant(_ condition: Bool, _ message: @autoclosure () -> String) {
    if !condition { fatalError("fuzz invariant violated: \(message())") }
}

/// Bytes as a Swift string literal body, for messages that name the input.
public func quoted(_ bytes: some Collection<UInt8>) -> String {
    String(decoding: bytes, as: UTF8.self).debugDescription
}
