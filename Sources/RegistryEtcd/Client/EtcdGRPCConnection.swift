import Foundation
import NIOCore
import NIOHPACK
import NIOHTTP2
import NIOPosix
import NIOSSL
import NIOTLS
import Synchronization

/// One HTTP/2 connection to one etcd member for unary gRPC calls: what a listing's pages travel on
/// (`EtcdClient.list`; why not the gateway: there).
///
/// gRPC here is only what a unary call needs (the gRPC over HTTP/2 protocol document): a POST of one
/// length-prefixed message to `/SERVICE/METHOD` with `content-type: application/grpc` and `te: trailers`; the
/// answer is one length-prefixed message, then trailers whose `grpc-status` says how it went (or, for an error,
/// headers that carry the status at once). Messages are never compressed: we send none compressed and offer no
/// `grpc-accept-encoding`, so etcd sends none.
///
/// Plain `http` endpoints speak HTTP/2 with prior knowledge (etcd serves gRPC and its gateway on one port and
/// tells them apart by the connection preface); `https` ones negotiate `h2` by ALPN.
final class EtcdGRPCConnection: Sendable {
    private let channel: any Channel
    private let multiplexer: NIOHTTP2Handler.AsyncStreamMultiplexer<any Channel>
    private let watcher: ConnectionWatcher
    private let authority: String
    private let scheme: String

    var isActive: Bool { channel.isActive }

    private init(
        channel: any Channel, multiplexer: NIOHTTP2Handler.AsyncStreamMultiplexer<any Channel>,
        watcher: ConnectionWatcher, endpoint: EtcdEndpoint
    ) {
        self.channel = channel
        self.multiplexer = multiplexer
        self.watcher = watcher
        scheme = endpoint.isTLS ? "https" : "http"
        authority = endpoint.authority
    }

    /// A response larger than the flow-control window waits a round trip per window; a listing's page is a few
    /// MB, so the window is a few MB too (HTTP/2's default is 64 KiB).
    private static let windowSize = 8 << 20

    /// Connects and, for TLS, completes the handshake, so that a certificate problem is reported as one (the
    /// first stream would otherwise see only a closed connection).
    static func connect(
        to endpoint: EtcdEndpoint, tls: NIOSSLContext?, connectTimeout: Duration
    ) async throws -> EtcdGRPCConnection {
        let (host, port) = (endpoint.host, endpoint.port)
        let watcher = ConnectionWatcher()
        var settings = NIOHTTP2Handler.Configuration()
        settings.connection.initialSettings = [
            HTTP2Setting(parameter: .maxConcurrentStreams, value: 100),
            HTTP2Setting(parameter: .maxHeaderListSize, value: HPACKDecoder.defaultMaxHeaderListSize),
            HTTP2Setting(parameter: .enablePush, value: 0),
            HTTP2Setting(parameter: .initialWindowSize, value: windowSize),
        ]
        settings.connection.targetWindowSize = windowSize
        settings.stream.targetWindowSize = windowSize
        let configuration = settings
        let bootstrap = ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connectTimeout(TimeAmount(connectTimeout))
        let (channel, multiplexer) = try await bootstrap.connect(host: host, port: port) { channel in
            channel.eventLoop.makeCompletedFuture {
                let operations = channel.pipeline.syncOperations
                if let tls {
                    // SNI and the certificate's name check take a host name; for an IP address NIOSSL checks the
                    // certificate's IP addresses against the peer's instead.
                    let isAddress = (try? SocketAddress(ipAddress: host, port: 0)) != nil
                    try operations.addHandler(NIOSSLClientHandler(context: tls, serverHostname: isAddress ? nil : host))
                }
                try operations.addHandler(watcher.handler())
                let multiplexer = try operations.configureAsyncHTTP2Pipeline(
                    mode: .client, configuration: configuration
                ) { stream in
                    // etcd opens no streams of its own (push is off); were one opened, it is closed unread.
                    stream.close(promise: nil)
                    return stream.eventLoop.makeSucceededFuture(stream)
                }
                return (channel as any Channel, multiplexer)
            }
        }
        if tls != nil {
            do {
                try await watcher.handshakeCompleted(within: connectTimeout, on: channel.eventLoop)
            } catch {
                channel.close(promise: nil)
                throw error
            }
        }
        return EtcdGRPCConnection(channel: channel, multiplexer: multiplexer, watcher: watcher, endpoint: endpoint)
    }

    func close() {
        channel.close(promise: nil)
    }

    /// A gRPC status other than OK, with etcd's message.
    struct Status: Error {
        var code: Int
        var message: String
    }

    /// One unary call of `path` (`/etcdserverpb.KV/Range`) with `message`; returns the answer's message. Throws
    /// `Status` for a gRPC error, `EtcdError.responseTooBig` for an answer over `maximumBytes`, and
    /// `EtcdError.malformed` for anything that is not a gRPC answer; `StreamCutShort` or NIO's errors for a
    /// broken stream or connection.
    func unary(path: String, message: [UInt8], token: String?, maximumBytes: Int) async throws -> ByteBuffer {
        do {
            return try await call(path: path, message: message, token: token, maximumBytes: maximumBytes)
        } catch let error where !(error is Status || error is EtcdError) {
            // A broken stream: the connection's own error says more than what its streams saw. With TLS 1.3 a
            // member that refuses this client's certificate does so after the client's handshake completed, so
            // the first stream sees only the connection close. (etcd's answers, a status or one too big, stand.)
            if let failure = watcher.failure { throw failure }
            throw error
        }
    }

    private func call(path: String, message: [UInt8], token: String?, maximumBytes: Int) async throws -> ByteBuffer {
        let stream = try await multiplexer.openStream { stream in
            stream.eventLoop.makeCompletedFuture {
                try NIOAsyncChannel<HTTP2Frame.FramePayload, HTTP2Frame.FramePayload>(
                    wrappingChannelSynchronously: stream)
            }
        }
        var headers: HPACKHeaders = [
            ":method": "POST", ":scheme": scheme, ":path": path, ":authority": authority,
            "content-type": "application/grpc", "te": "trailers",
        ]
        // etcd reads the token from this metadata key (what the gateway makes of an Authorization header).
        if let token { headers.add(name: "token", value: token) }
        var body = ByteBuffer()
        body.reserveCapacity(5 + message.count)
        body.writeInteger(UInt8(0))  // not compressed
        body.writeInteger(UInt32(message.count))
        body.writeBytes(message)
        return try await stream.executeThenClose { inbound, outbound in
            try await outbound.write(.headers(.init(headers: headers)))
            try await outbound.write(.data(.init(data: .byteBuffer(body), endStream: true)))
            var answer = GRPCAnswer(maximumBytes: maximumBytes)
            for try await payload in inbound {
                if try answer.take(payload) { return try answer.message() }
            }
            // A connection that closes mid-answer (a member killed, a kept connection closed by the member)
            // ends its streams without an error: not a malformed answer, a broken connection.
            throw StreamCutShort()
        }
    }

    /// The stream ended before its answer did.
    struct StreamCutShort: Error, CustomStringConvertible {
        var description: String { "the connection closed before the answer ended" }
    }

    /// Notes whether the TLS handshake completed, or the error it failed with, for whoever waits; and the first
    /// error the connection saw.
    private final class ConnectionWatcher: Sendable {
        private struct State {
            var outcome: Result<Void, any Error>? = nil
            var waiter: EventLoopPromise<Void>? = nil
            var failure: (any Error)? = nil
        }
        private let state = Mutex(State())

        func handler() -> some ChannelInboundHandler { Handler(watcher: self) }

        var failure: (any Error)? { state.withLock { $0.failure } }

        fileprivate func finish(_ result: Result<Void, any Error>) {
            let waiter: EventLoopPromise<Void>? = state.withLock { state in
                guard state.outcome == nil else { return nil }
                state.outcome = result
                return state.waiter
            }
            waiter?.completeWith(result)
        }

        fileprivate func failed(_ error: any Error) {
            state.withLock { state in
                if state.failure == nil { state.failure = error }
            }
            finish(.failure(error))
        }

        func handshakeCompleted(within timeout: Duration, on eventLoop: any EventLoop) async throws {
            let promise = eventLoop.makePromise(of: Void.self)
            let outcome: Result<Void, any Error>? = state.withLock { state in
                if state.outcome == nil { state.waiter = promise }
                return state.outcome
            }
            if let outcome { promise.completeWith(outcome) }
            let timer = eventLoop.scheduleTask(in: TimeAmount(timeout)) {
                self.finish(.failure(EtcdError.unreachable("no TLS handshake within \(timeout)")))
            }
            defer { timer.cancel() }
            try await promise.futureResult.get()
        }

        private final class Handler: ChannelInboundHandler, Sendable {
            typealias InboundIn = NIOAny
            let watcher: ConnectionWatcher

            init(watcher: ConnectionWatcher) { self.watcher = watcher }

            func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
                if case TLSUserEvent.handshakeCompleted = event { watcher.finish(.success(())) }
                context.fireUserInboundEventTriggered(event)
            }

            func errorCaught(context: ChannelHandlerContext, error: any Error) {
                watcher.failed(error)
                context.fireErrorCaught(error)
            }

            func channelInactive(context: ChannelHandlerContext) {
                watcher.finish(.failure(EtcdError.unreachable("the connection closed during the TLS handshake")))
                context.fireChannelInactive()
            }
        }
    }
}
