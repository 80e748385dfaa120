import DNSPipeline
import Logging
import ServiceRegistry
import XCTest

@testable import DNSServer

/// `/ready`'s decision (ServerState.readiness): not before the registry is loaded, not before every DNS listener is
/// bound (a Service must not send queries to a pod with no socket yet), and never from the first moment of lame duck.
final class ServerStateTests: XCTestCase {
    func testReadyOnlyOnceLoadedAndListeningAndUntilLameDuck() {
        let state = ServerState(maxStale: .seconds(60))
        XCTAssertEqual(state.readiness().ready, false)
        XCTAssertEqual(state.readiness().reason, "no registry snapshot loaded yet")

        let publisher = AnswerPublisher(
            registry: .empty(origin: "test"), zones: [], settings: PipelineSettings(),
            logger: Logger(label: "test"))
        state.loaded(publisher, metrics: ServerMetrics(processor: publisher.processor, version: "test"))
        XCTAssertEqual(state.readiness().ready, false)
        XCTAssertEqual(state.readiness().reason, "registry loaded; the DNS listeners are not bound yet")

        state.startedListening()
        XCTAssertEqual(state.readiness().ready, true)
        XCTAssertEqual(state.readiness().reason, "ready")

        state.enterLameDuck()
        XCTAssertEqual(state.readiness().ready, false)
        XCTAssertEqual(state.readiness().reason, "shutting down (lame duck)")
    }
}
