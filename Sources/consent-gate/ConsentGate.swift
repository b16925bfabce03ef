import ArgumentParser
import Glibc
import Kafka

@main
struct ConsentGate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "consent-gate",
        abstract: "Enforces end-user consent between a Kafka ingest topic and per-destination topics.",
        version: "consent-gate \(version) (librdkafka \(KafkaClientConfig.libraryVersion))",
        subcommands: [
            RunCommand.self,
            DemoCommand.self,
            SuppressCommand.self,
            CheckCommand.self,
            TopicsCommand.self,
            DevBrokerCommand.self,
        ]
    )

    /// Ignores SIGPIPE before anything runs: a reader that goes away (`| head`, a closed log
    /// pipe) then makes writes fail with EPIPE instead of killing the process.
    static func main() async {
        signal(SIGPIPE, SIG_IGN)
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            exit(withError: error)
        }
    }

    /// Reported as `consent_gate_build_info{version}`.
    static let version = "0.1.0"
}
