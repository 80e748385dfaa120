import ArgumentParser
import DNSServer

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Serve the registry and zones over UDP and TCP until SIGTERM or SIGINT; SIGHUP reloads.")

    @OptionGroup var options: ServerOptions

    func run() async throws {
        let logger = options.makeLogger()
        do {
            try await ScdnsServer(config: try options.loadConfig(), logger: logger).run()
        } catch let error as ValidationError {
            throw error
        } catch {
            logger.critical("cannot serve: \(error)")
            throw ExitCode.failure
        }
    }
}
