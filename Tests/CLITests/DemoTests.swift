import Foundation
import TestSupport
import Testing

extension EndToEnd {
    @Suite("consent-gate demo", .timeLimit(.minutes(3)))
    struct DemoTests {
        /// The README's first command, as a newcomer runs it from the repository root.
        @Test("demo routes the example workspace and its summary matches the topics")
        func demoRuns() throws {
            let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            let examples = root.appendingPathComponent("examples")
            let result = try runBinary([
                "demo", "--events", "300",
                "--config", examples.appendingPathComponent("policy.yaml").path,
                "--sample", examples.appendingPathComponent("events.jsonl").path,
                "--suppressions", examples.appendingPathComponent("suppressions.txt").path,
            ])
            #expect(result.status == 0, "stderr:\n\(result.stderr.suffix(2000))")
            let output = result.stdout
            #expect(output.contains("consumed 323   lag 0"), "\(output.prefix(1500))")
            // Erin is on examples/suppressions.txt: both of her events are dropped everywhere.
            #expect(output.contains("track Order Completed from user-erin\n       → delivered to nobody\n         dropped [suppressed]"))
            // CMP signals: a TC string without purpose 4 for Google; a GPP usnat sale opt-out.
            #expect(output.contains("dropped [tcf]: google-ads (no tcf:purpose:4)"), "\(output.suffix(3000))")
            #expect(output.contains("dropped [us_privacy]: facebook-capi (no us:sale)"), "\(output.suffix(3000))")
            #expect(output.contains("dropped [google_consent]: google-ads (no google:ad_personalization)"), "\(output.suffix(3000))")
            // The malformed sample line goes to the dead-letter topic with its reason.
            #expect(output.contains("(malformed JSON)\n       → dead-letter topic: invalid_json"))
            // Every destination's delivered counter equals what its topic holds.
            let topicLines = output.split(separator: "\n").filter { $0.hasPrefix("  ") && $0.contains(" dest.") }
            #expect(topicLines.count == 6, "one line per destination of examples/policy.yaml")
            for line in topicLines {
                let fields = line.split(separator: " ")
                let id = String(fields[0]), held = String(fields[2])
                let row = output.split(separator: "\n").first { $0.hasPrefix(id + " ") }
                #expect(row?.split(separator: " ").dropFirst().first.map(String.init) == held, "\(id): counter vs topic")
            }
        }
    }
}
