import Foundation
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle
import ServiceRegistry

/// The admin endpoint (`admin:`, DESIGN.md section 5), on Hummingbird 2: what a CoreDNS, Knot or dnsdist
/// operator expects to find.
///
/// | path | answer |
/// |---|---|
/// | `/` | the status page (HTML, `StatusPage`) for a browser (`Accept: text/html`); this table, as text, otherwise |
/// | `/status` | the status page, whatever the client accepts |
/// | `/health` | 200 while the process serves (liveness) |
/// | `/ready` | 200 once a registry snapshot is loaded, the DNS listeners are bound, and it is not stale past `registry.etcd.maxStale`; 503 with the reason otherwise, and from the start of lame duck |
/// | `/metrics` | Prometheus text format (0.0.4) |
/// | `/registry` | the serving registry snapshot as JSON |
/// | `/explain` | why a query is answered as it is, as JSON (`?name=N&type=T&client=ADDR[&ecs=PREFIX]`) |
///
/// It runs first in the service group, so it answers (not ready) while the registry is still loading, and it is
/// shut down last, so `/ready` keeps saying 503 through lame duck.
struct AdminService: ServiceLifecycle.Service {
    let address: ListenAddress
    let state: ServerState
    /// The status page's heading: the instance's identity (its host name unless set).
    let title: String
    /// This instance's own locality, shown on the status page.
    let locality: Locality
    let logger: Logger

    static let index = """
        scdns admin endpoint
          /status    the status page (HTML; also / in a browser)
          /health    200 while the process serves
          /ready     200 when a registry snapshot is loaded and current and DNS is listening; 503 and why otherwise
          /metrics   Prometheus metrics
          /registry  the serving registry snapshot as JSON
          /explain   ?name=NAME&type=TYPE&client=ADDRESS[&ecs=PREFIX]: why that client gets the answer it gets

        """

    func run() async throws {
        let router = Router()
        let state = self.state
        let history = StatusHistory()
        let (title, locality) = (self.title, self.locality)
        @Sendable func statusPage() -> Response {
            let page = StatusPage(title: title, locality: locality, state: state, history: history)
            return Self.text(page.html(), contentType: "text/html; charset=utf-8")
        }
        router.get("/") { request, _ in
            // A browser asks for HTML; curl and scripts get the plain index.
            let accept = request.headers[.accept] ?? ""
            return accept.contains("text/html") ? statusPage() : Self.text(Self.index)
        }
        router.get("/status") { _, _ in statusPage() }
        router.get("/health") { _, _ in Self.text("ok\n") }
        router.get("/ready") { _, _ in
            let (ready, reason) = state.readiness()
            return Self.text(reason + "\n", status: ready ? .ok : .serviceUnavailable)
        }
        router.get("/metrics") { _, _ in
            // Before the registry is loaded there is nothing to count yet but the build.
            let text =
                state.metrics?.render(publisher: state.publisher)
                ?? "# TYPE scdns_build_info gauge\nscdns_build_info{version=\"\(ScdnsServer.version)\"} 1\n"
            return Self.text(text, contentType: "text/plain; version=0.0.4; charset=utf-8")
        }
        router.get("/registry") { _, _ in
            guard let publisher = state.publisher else {
                return Self.text("no registry snapshot loaded yet\n", status: .serviceUnavailable)
            }
            return Self.text(RegistryDocument.json(publisher: publisher), contentType: "application/json")
        }
        router.get("/explain") { request, _ in
            guard let publisher = state.publisher else {
                return Self.text("no registry snapshot loaded yet\n", status: .serviceUnavailable)
            }
            let parameters = request.uri.queryParameters
            do {
                let explain = try ExplainRequest(
                    name: parameters["name"].map(String.init), type: parameters["type"].map(String.init),
                    client: parameters["client"].map(String.init), ecs: parameters["ecs"].map(String.init))
                return Self.text(explain.explain(with: publisher).json, contentType: "application/json")
            } catch {
                return Self.text(
                    "\(error)\nusage: /explain?name=NAME&type=TYPE&client=ADDRESS[&ecs=PREFIX]\n", status: .badRequest)
            }
        }
        let logger = self.logger
        let address = self.address
        var appLogger = logger
        // Hummingbird logs every request at debug and its own start at info; the start line below says it.
        appLogger.logLevel = max(logger.logLevel, .notice)
        let app = Application(
            router: router,
            configuration: .init(address: .hostname(address.host, port: address.port), serverName: "scdns"),
            onServerRunning: { channel in
                let bound = channel.localAddress?.port.map { ListenAddress(host: address.host, port: $0) } ?? address
                logger.info("admin endpoint listening", metadata: ["admin": "\(bound)"])
            },
            logger: appLogger)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await app.run() }
            group.addTask { await history.run(state: state) }
            defer { group.cancelAll() }
            // The sampler ends only by cancellation: the app's end (graceful shutdown) ends both.
            try await group.next()
        }
    }

    static func text(
        _ body: String, status: HTTPResponse.Status = .ok, contentType: String = "text/plain; charset=utf-8"
    ) -> Response {
        Response(
            status: status, headers: [.contentType: contentType],
            body: ResponseBody(byteBuffer: ByteBuffer(string: body)))
    }
}
