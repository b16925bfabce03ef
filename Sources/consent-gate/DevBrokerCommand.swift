import ArgumentParser

struct DevBrokerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "dev-broker", abstract: "Not implemented yet.")

    func run() async throws {
        throw ExitCode(70)
    }
}
