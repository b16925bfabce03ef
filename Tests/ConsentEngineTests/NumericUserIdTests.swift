import ConsentEngine
import Testing

/// Issue 9, defect 2: a numeric `userId` is checked against the suppression list as the text
/// JavaScript's `String()` gives for it, so every spelling of the number names the same subject.
@Suite struct NumericUserIdTests {
    let policy = compile(standardPolicy)
    let everyone = ["ads", "amp", "anyd", "archive", "cafe", "fb", "s3", "strict"]

    func suppressing(_ ids: [String]) -> Suppressions {
        var builder = Suppressions.Builder(identifiers: [.userId])
        for id in ids { builder.insert(subject: id) }
        return builder.build()
    }

    /// Literal -> ECMAScript Number::toString (vectors computed independently of the engine).
    static let vectors: [(String, String)] = [
        ("42", "42"), ("42.0", "42"), ("4.2e1", "42"), ("4.2E+1", "42"), ("420e-1", "42"), ("0.42e2", "42"),
        ("4200e-2", "42"), ("1000", "1000"), ("1e3", "1000"), ("1000.0", "1000"), ("1.0E3", "1000"),
        ("0", "0"), ("-0", "0"), ("0.0", "0"), ("-0.0e5", "0"), ("0e-999999999999", "0"), ("1e-400", "0"),
        ("-4.5e1", "-45"), ("-1.5", "-1.5"), ("123.456", "123.456"), ("0.1", "0.1"), ("1e0", "1"),
        ("1e20", "100000000000000000000"), ("1e21", "1e+21"), ("100000000000000000000000", "1e+23"),
        ("1e-7", "1e-7"), ("1.5e-7", "1.5e-7"), ("1e-6", "0.000001"), ("0.00001", "0.00001"),
        ("0.0000012345", "0.0000012345"), ("123e-20", "1.23e-18"),
        // More than 15 significant digits: the nearest double's shortest digits.
        ("12345678901234567890", "12345678901234567000"), ("9007199254740993", "9007199254740992"),
        ("123456789012345678901234", "1.2345678901234569e+23"), ("0.30000000000000004", "0.30000000000000004"),
        ("1.0000000000000001", "1"), ("42.000000000000000001", "42"),
        // Extreme exponents.
        ("5e-324", "5e-324"), ("1.7976931348623157e308", "1.7976931348623157e+308"),
        ("1e400", "Infinity"), ("-1e400", "-Infinity"),
    ]

    @Test(arguments: vectors)
    func numericUserIdReadsAsJavaScriptText(literal: String, text: String) throws {
        let event = try #require(scan(#"{"type":"track","userId":\#(literal),"anonymousId":"a"}"#, policy: policy).successValue)
        #expect(event.userId == nil, "a numeric userId is not an identity")
        #expect(event.numericUserId == text, "\(literal)")
    }

    @Test func everySpellingOfASuppressedNumberIsSuppressed() {
        let suppressions = suppressing(["42", "1000", "1e+21", "-45"])
        let allDropped = Dictionary(uniqueKeysWithValues: everyone.map { ($0, DropReason.suppressed) })
        for literal in ["42", "42.0", "4.2e1", "4.2E1", "420e-1", "1000", "1e3", "1000.0", "1.0E3", "1e21", "10e20", "-4.5e1", "-45.0"] {
            #expect(decide(#"{"type":"track","userId":\#(literal),"anonymousId":"a"}"#, policy: policy, suppressions: suppressions)
                == routed([], allDropped), "\(literal)")
        }
        for literal in ["43", "4.3e1", "42.5", "-42", "1000000000000000000000.5e1", "100"] {
            #expect(decide(#"{"type":"track","userId":\#(literal),"anonymousId":"a"}"#, policy: policy, suppressions: suppressions)
                != routed([], allDropped), "\(literal)")
        }
    }

    @Test func aNumericUserIdIsStillNotAnIdentity() {
        #expect(decide(#"{"type":"track","userId":4.2e1}"#, policy: policy) == .invalid(.missingIdentity))
    }
}
