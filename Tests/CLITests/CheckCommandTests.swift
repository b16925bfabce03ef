import Foundation
import TestSupport
import Testing

/// Runs the built `consent-gate check` as a user would.
@Suite struct CheckCommandTests {
    struct Run {
        var status: Int32
        var stdout: String
        var stderr: String
        var lines: [String] { stdout.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map(String.init) }
    }

    func run(_ arguments: [String], stdin: String? = nil) throws -> Run {
        let result = try runBinary(["check"] + arguments, stdin: Data((stdin ?? "").utf8))
        return Run(status: result.status, stdout: result.stdout, stderr: result.stderr)
    }

    func temporaryFile(_ name: String, _ contents: String) throws -> String {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("consent-gate-check-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let path = directory.appendingPathComponent(name).path
        try Data(contents.utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    static let config = """
        categories: [Advertising, Analytics]
        destinations:
          - id: ads
            categories: [Advertising]
            sale: true
          - id: amp
            categories: [Analytics]
          - id: s3
          - id: mail
            channel: email
        """

    @Test func decidesEachLineInOrder() throws {
        let config = try temporaryFile("policy.yaml", Self.config)
        let suppressed = try temporaryFile("suppressed.txt", "gone\r\n\nother\n")
        let events = [
            #"{"type":"track","messageId":"m-1","userId":"u","context":{"gpc":true,"consent":{"categoryPreferences":{"Advertising":true,"Analytics":true}}}}"#,
            #"{"type":"track","messageId":"m-2","userId":"gone"}"#,
            "{broken",
            #"{"type":"identify","messageId":"q\"uote \u00e9\u0001","userId":"u","traits":{"email":"a@x.io"},"context":{"messaging_subscriptions":[{"key":"a@x.io","type":"EMAIL","status":"SUBSCRIBED"}]}}"#,
            #"{"type":"track","userId":"u","properties":{"email":"A@X.io"}}"#,
        ].joined(separator: "\n") + "\n"

        let eventsFile = try temporaryFile("events.jsonl", events)
        let result = try run(["--config", config, "--suppressions", suppressed, eventsFile])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.lines == [
            #"{"messageId":"m-1","deliver":["amp","s3"],"drop":{"ads":"gpc","mail":"unsubscribed"}}"#,
            #"{"messageId":"m-2","deliver":[],"drop":{"ads":"suppressed","amp":"suppressed","mail":"suppressed","s3":"suppressed"}}"#,
            #"{"line":3,"invalid":"invalid_json"}"#,
            #"{"messageId":"q\"uote é\u0001","deliver":["ads","amp","mail","s3"],"drop":{}}"#,
            #"{"messageId":null,"deliver":["ads","amp","mail","s3"],"drop":{}}"#,
        ])
    }

    /// `--explain` names, per dropped destination, what was not granted (consent-signals.md
    /// section 4); delivered and invalid lines keep their shape.
    @Test func explainNamesWhatWasNotGranted() throws {
        let config = try temporaryFile("signals.yaml", """
            categories: [Advertising, Analytics]
            destinations:
              - id: google-ads
                categories: [Advertising]
                sale: true
                tcf: {vendorId: 755, purposes: [1, 3, 4], flexiblePurposes: [2, 7]}
                googleConsent: [ad_user_data, ad_personalization]
              - id: facebook-capi
                categories: [Advertising]
                usOptOuts: [sale, sharing]
              - id: amplitude
                categories: [Analytics]
            """)
        // A TC string with purposes 1, 2, 3, 7 (no 4) and vendor 755; a GPP usnat sale opt-out.
        let noPurpose4 = "CP3tAUAP3tAUAAHAAAENB4FgAOIAAEIAAAAAF7wAwAOABZgXcBe4F5wAQF5gAA"
        let events = [
            #"{"type":"track","messageId":"t-1","userId":"u","context":{"consent":{"tcf":{"tcString":"\#(noPurpose4)"}}}}"#,
            #"{"type":"track","messageId":"t-2","userId":"u","context":{"consent":{"tcf":{"tcString":"not-a-tc-string"},"googleConsent":{"ad_user_data":"granted","ad_personalization":"denied"}}}}"#,
            #"{"type":"track","messageId":"g-1","userId":"u","context":{"consent":{"gpp":{"gppString":"DBABL~BEAaAAAAAQ.Q","applicableSections":[7]}}}}"#,
            #"{"type":"track","messageId":"u-1","userId":"u","context":{"consent":{"usPrivacy":"1YYN","categoryPreferences":{"Advertising":true,"Analytics":false}}}}"#,
            #"{"type":"track","messageId":"c-1","userId":"u","context":{"consentManagement":{"allowedConsentIds":["Analytics"],"deniedConsentIds":["Advertising"]}}}"#,
            #"{"type":"track","messageId":"ok","userId":"u"}"#,
            #"{"type":"track","messageId":"bad","userId":"u","context":{"consent":{"usPrivacy":1}}}"#,
        ].joined(separator: "\n") + "\n"
        let result = try run(["--config", config, "--explain", "-"], stdin: events)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.lines == [
            #"{"messageId":"t-1","deliver":["amplitude","facebook-capi"],"drop":{"google-ads":"tcf"},"notGranted":{"google-ads":["tcf:purpose:4"]}}"#,
            #"{"messageId":"t-2","deliver":["amplitude","facebook-capi"],"drop":{"google-ads":"tcf"},"notGranted":{"google-ads":["tcf:invalid"]}}"#,
            #"{"messageId":"g-1","deliver":["amplitude"],"drop":{"facebook-capi":"us_privacy","google-ads":"us_privacy"},"notGranted":{"facebook-capi":["us:sale"],"google-ads":["us:sale"]}}"#,
            #"{"messageId":"u-1","deliver":[],"drop":{"amplitude":"consent","facebook-capi":"us_privacy","google-ads":"us_privacy"},"notGranted":{"amplitude":["Analytics"],"facebook-capi":["us:sale","us:sharing"],"google-ads":["us:sale"]}}"#,
            #"{"messageId":"c-1","deliver":["amplitude"],"drop":{"facebook-capi":"consent","google-ads":"consent"},"notGranted":{"facebook-capi":["Advertising"],"google-ads":["Advertising"]}}"#,
            #"{"messageId":"ok","deliver":["amplitude","facebook-capi","google-ads"],"drop":{},"notGranted":{}}"#,
            #"{"line":7,"invalid":"signal_not_string"}"#,
        ])
        // Without --explain the same events print no notGranted.
        let plain = try run(["--config", config, "-"], stdin: events)
        #expect(plain.lines.first == #"{"messageId":"t-1","deliver":["amplitude","facebook-capi"],"drop":{"google-ads":"tcf"}}"#)
        #expect(!plain.stdout.contains("notGranted"))
    }

    /// Issue 9, defect 2: with "42" suppressed, a numeric userId is suppressed however the number
    /// is written (JavaScript's String() of it), and is still not an identity of its own.
    @Test func numericUserIdsAreSuppressedHoweverTheyAreWritten() throws {
        let config = try temporaryFile("policy.yaml", Self.config)
        let suppressed = try temporaryFile("suppressed.txt", "42\n1000\n")
        let spellings = ["42", "42.0", "4.2e1", "420E-1", "1000", "1e3", "1000.0", "1.0E3"]
        let events = spellings.map { #"{"type":"track","userId":\#($0),"anonymousId":"a"}"# }
            + [#"{"type":"track","userId":43,"anonymousId":"a"}"#]
        let result = try run(["--config", config, "--suppressions", suppressed, "-"], stdin: events.joined(separator: "\n") + "\n")
        #expect(result.status == 0, "\(result.stderr)")
        let dropped = #"{"messageId":null,"deliver":[],"drop":{"ads":"suppressed","amp":"suppressed","mail":"suppressed","s3":"suppressed"}}"#
        #expect(result.lines == Array(repeating: dropped, count: spellings.count) + [
            #"{"messageId":null,"deliver":["ads","amp","s3"],"drop":{"mail":"unsubscribed"}}"#,
        ])
    }

    /// Issue 9, defect 5: an invalid event whose identity can be read and is suppressed prints
    /// `"suppressed":true` (the worker drops it instead of dead-lettering it); one whose
    /// identity cannot be read, or is not listed, prints as before.
    @Test func invalidEventsOfSuppressedSubjectsSaySo() throws {
        let config = try temporaryFile("policy.yaml", Self.config + "\nsuppression:\n  identifiers: [userId, anonymousId, email]\n")
        let suppressed = try temporaryFile("suppressed.txt", "gone\nanon-9\ngone@example.com\n42\n")
        let events = [
            #"{"type":"purchase","userId":"gone"}"#,
            #"{"type":"track","userId":"ok","userId":"gone"}"#,
            #"{"type":"track","anonymousId":"anon-9","context":null}"#,
            #"{"type":"track","userId":"u","traits":{"email":"a@x.io"},"traits":{"email":"GONE@example.com"}}"#,
            #"{"type":"track","userId":4.2e1}"#,
            #"{"type":"track","userId":"gone","#,
            #"{"type":"purchase","userId":"other"}"#,
            #"{"type":"track","userId":"gone"}"#,
        ].joined(separator: "\n") + "\n"
        let result = try run(["--config", config, "--suppressions", suppressed, "-"], stdin: events)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.lines == [
            #"{"line":1,"invalid":"unknown_type","suppressed":true}"#,
            #"{"line":2,"invalid":"duplicate_key","suppressed":true}"#,
            #"{"line":3,"invalid":"context_not_object","suppressed":true}"#,
            #"{"line":4,"invalid":"duplicate_key","suppressed":true}"#,
            #"{"line":5,"invalid":"missing_identity","suppressed":true}"#,
            #"{"line":6,"invalid":"invalid_json"}"#,
            #"{"line":7,"invalid":"unknown_type"}"#,
            #"{"messageId":null,"deliver":[],"drop":{"ads":"suppressed","amp":"suppressed","mail":"suppressed","s3":"suppressed"}}"#,
        ])
    }

    @Test func readsStandardInputAndReportsEmptyAndOverlongLines() throws {
        let config = try temporaryFile("policy.json", #"{"limits":{"maxEventBytes":64},"destinations":[{"id":"s3"}]}"#)
        let long = #"{"type":"track","userId":"u","p":""# + String(repeating: "x", count: 3_000_000) + #""}"#
        let input = #"{"type":"page","userId":"u"}"# + "\n\n" + long + "\n" + #"{"type":"page","anonymousId":"a"}"#
        let result = try run(["--config", config, "-"], stdin: input)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.lines == [
            #"{"messageId":null,"deliver":["s3"],"drop":{}}"#,
            #"{"line":2,"invalid":"invalid_json"}"#,
            #"{"line":3,"invalid":"too_large"}"#,
            #"{"messageId":null,"deliver":["s3"],"drop":{}}"#,
        ])
    }

    @Test func badConfigExitsTwoNamingFileAndKey() throws {
        let config = try temporaryFile("bad.yaml", "destinations:\n  - id: ads\n    match: sometimes\n")
        let events = try temporaryFile("events.jsonl", #"{"type":"page","userId":"u"}"#)
        let result = try run(["--config", config, events])
        #expect(result.status == 2)
        #expect(result.stdout.isEmpty)
        #expect(result.stderr.contains("\(config):3: destinations[0].match: expected one of all, any, got 'sometimes'"), "\(result.stderr)")
    }

    @Test func unreadableInputsExitTwo() throws {
        let config = try temporaryFile("policy.yaml", Self.config)
        let missingEvents = try run(["--config", config, "/nonexistent/events.jsonl"])
        #expect(missingEvents.status == 2)
        #expect(missingEvents.stderr.contains("/nonexistent/events.jsonl"))
        let missingSuppressions = try run(["--config", config, "--suppressions", "/nonexistent/s.txt", "-"], stdin: "")
        #expect(missingSuppressions.status == 2)
        #expect(missingSuppressions.stderr.contains("/nonexistent/s.txt"))
        let missingConfig = try run(["--config", "/nonexistent/policy.yaml", "-"], stdin: "")
        #expect(missingConfig.status == 2)
        #expect(missingConfig.stderr.contains("/nonexistent/policy.yaml"))
    }
}
