import ArgumentParser

/// The executable parses arguments and nothing else; each subcommand hands over to a library target.
@main
struct Scdns: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scdns",
        abstract: "A cross-cluster DNS server for multi-cluster Kubernetes services.",
        subcommands: [Serve.self, Check.self, Explain.self, Health.self, Qps.self, Registry.self],
        defaultSubcommand: Serve.self)
}
