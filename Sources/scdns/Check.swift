import ArgumentParser
import DNSServer
import Foundation

struct Check: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Validate the config, its zones and its registry; exit non-zero with the first error.")

    @OptionGroup var options: ServerOptions

    func run() async throws {
        do {
            let report = try await ScdnsServer(config: try options.loadConfig(), logger: options.makeLogger()).check()
            print(report)
        } catch let error as ValidationError {
            throw error
        } catch {
            printError("scdns check: \(error)")
            throw ExitCode.failure
        }
    }
}

func printError(_ message: String) {
    FileHandle.standardError.write(Data((message + "\n").utf8))
}
