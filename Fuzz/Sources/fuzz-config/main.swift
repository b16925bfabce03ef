import ConsentConfig
import ConsentEngine
import FuzzSupport

// libFuzzer target: the configuration loader (YAML, JSON being YAML) and the policy compiler.
// Beyond "no crash, no hang": loading the same text twice gives the same configuration or the
// same error, an error names the file, and a configuration that loads compiles or fails with
// policy violations (never anything else, since `CompiledPolicy.init` has typed throws).
private let file = "fuzz.yaml"


private func load(_ text: String) -> Result<Configuration, ConfigurationError> {
    Result { () throws(ConfigurationError) in try Configuration.parse(yaml: text, file: file) }
}

runLibFuzzer { data, size in
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    let first = load(text)
    let second = load(text)
    switch (first, second) {
    case (.success(let a), .success(let b)):
        invariant(a == b, "loading twice gave two configurations for \(text.debugDescription)")
        _ = try? CompiledPolicy(a.policy)
    case (.failure(let a), .failure(let b)):
        invariant(a.description == b.description, "loading twice gave two errors: \(a) and \(b)")
        invariant(a.description.contains(file), "the error does not name the file: \(a)")
    default:
        invariant(false, "loading twice gave \(first) then \(second) for \(text.debugDescription)")
    }
    return 0
}
