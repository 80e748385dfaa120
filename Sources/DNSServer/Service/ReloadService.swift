import DNSPipeline
import Logging
import ServiceLifecycle
import ServiceRegistry
import UnixSignals
import ZoneFile

/// Follows the registry source, and on SIGHUP re-reads the zones and asks the source to reload, as operators of
/// Knot, NSD and CoreDNS expect. A failed reload is logged and changes nothing: the last good state serves on.
struct ReloadService: ServiceLifecycle.Service {
    let source: any RegistrySource
    let reloadRegistry: @Sendable () -> Void
    let zonesDirectory: String
    let publisher: AnswerPublisher
    let logger: Logger

    func run() async throws {
        let publisher = self.publisher
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                await cancelWhenGracefulShutdown {
                    await source.watch { snapshot in publisher.publish(registry: snapshot) }
                }
            }
            group.addTask {
                let hangups = await UnixSignalsSequence(trapping: .sighup)
                await cancelWhenGracefulShutdown {
                    for await _ in hangups {
                        logger.info("SIGHUP: reloading zones and registry")
                        reloadZones()
                        reloadRegistry()
                    }
                }
            }
            try await group.waitForAll()
        }
    }

    private func reloadZones() {
        do {
            let zones = try ZoneFileLoader.loadDirectory(zonesDirectory).map(AuthoritativeZone.init)
            publisher.publish(zones: zones)
        } catch {
            logger.error("zones not reloaded; the previous zones keep serving", metadata: ["error": "\(error)"])
        }
    }
}
