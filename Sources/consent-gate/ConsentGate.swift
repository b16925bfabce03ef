import ArgumentParser

@main
struct ConsentGate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "consent-gate",
        abstract: "Enforces end-user consent between a Kafka ingest topic and per-destination topics.",
        subcommands: [
            RunCommand.self,
            DemoCommand.self,
            SuppressCommand.self,
            CheckCommand.self,
            TopicsCommand.self,
            DevBrokerCommand.self,
        ]
    )

    /// Reported as `consent_gate_build_info{version}`.
    static let version = "0.1.0"
}
