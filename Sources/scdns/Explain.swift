import ArgumentParser
import DNSServer

struct Explain: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Explain how NAME is answered to a client: its locality and why, and every candidate address.",
        discussion: """
            Loads the config's zones and registry (an etcd registry is listed once) and answers the query as the \
            server would, without sending anything. A running server answers the same at \
            /explain?name=NAME&type=TYPE&client=ADDRESS[&ecs=PREFIX] on its admin endpoint.
            """)

    @Argument(help: "The name asked, e.g. backend.app.svc.supercluster.local.")
    var name: String

    @Argument(help: "The record type (default A).")
    var type: String?

    @Option(name: .long, help: "The asker's address (the source address of the query).")
    var client: String

    @Option(name: .long, help: "An EDNS Client Subnet the query carries, e.g. 10.245.7.0/24.")
    var ecs: String?

    @Flag(name: .long, help: "Print the explanation as JSON, as /explain does.")
    var json = false

    @OptionGroup var options: ServerOptions

    func run() async throws {
        let request: ExplainRequest
        do {
            request = try ExplainRequest(name: name, type: type, client: client, ecs: ecs)
        } catch {
            throw ValidationError(error.description)
        }
        do {
            let server = ScdnsServer(config: try options.loadConfig(), logger: options.makeLogger())
            let explanation = try await server.explain(request)
            print(json ? explanation.json : explanation.table, terminator: "")
        } catch let error as ValidationError {
            throw error
        } catch {
            printError("scdns explain: \(error)")
            throw ExitCode.failure
        }
    }
}
