import AsyncHTTPClient
import Foundation
import NIOCore
import NIOFoundationCompat

extension EtcdClient {
    /// Watches every key under `prefix` from `startRevision` on, calling `onMessages` with the messages that carry
    /// events, in revision order, as many as arrived together (one transaction's events come in one message), so
    /// a burst of updates is applied as one change. Returns never: it throws
    /// `.compacted` when `startRevision` was compacted away, `.unreachable` when the stream breaks or etcd cancels
    /// it (a member losing its leader does), and `CancellationError` when the task is cancelled.
    ///
    /// `onOpen` is called with the endpoint once etcd has confirmed the watch, so the caller knows it is current.
    public func watch(
        prefix: String, from startRevision: Int64,
        onOpen: @Sendable (EtcdEndpoint) -> Void = { _ in },
        onMessages: @Sendable ([WatchResponse]) throws -> Void
    ) async throws {
        try await watch(
            WatchCreate(
                key: Data(prefix.utf8), range_end: Self.prefixEnd(prefix), start_revision: EtcdInt64(startRevision),
                progress_notify: true),
            onOpen: onOpen, onMessages: onMessages)
    }

    /// `watch(prefix:...)` for one key only.
    public func watch(
        key: String, from startRevision: Int64, onMessages: @Sendable ([WatchResponse]) throws -> Void
    ) async throws {
        try await watch(
            WatchCreate(key: Data(key.utf8), start_revision: EtcdInt64(startRevision)), onOpen: { _ in },
            onMessages: onMessages)
    }

    private func watch(
        _ create: WatchCreate, onOpen: @Sendable (EtcdEndpoint) -> Void,
        onMessages: @Sendable ([WatchResponse]) throws -> Void
    ) async throws {
        let request = WatchRequest(create_request: create)
        let (endpoint, response) = try await openStream("/v3/watch", request)
        var lines = NewlineSplitter()
        do {
            for try await chunk in response.body {
                try lines.append(chunk)
                var batch: [WatchResponse] = []
                while let line = lines.next() {
                    let message = try decode(StreamMessage<WatchResponse>.self, from: line)
                    if let error = message.error {
                        throw EtcdError.unreachable(
                            "\(endpoint): watch ended: \(error.message ?? error.error ?? "error \(error.code ?? 0)")")
                    }
                    guard let watch = message.result else { continue }
                    if watch.isCanceled {
                        if watch.compactRevision != 0 {
                            throw EtcdError.compacted(compactRevision: watch.compactRevision)
                        }
                        if watch.cancelReason.contains("permission denied") || watch.cancelReason.contains("auth token")
                        {
                            // etcd took the request (HTTP 200) and cancels the watch in its body when it does not
                            // know the token (a member restarted, the token expired): `authenticated` never saw
                            // an error. A unary read of the same key renews the token if that is why, so the
                            // caller's next watch carries a good one; if the role truly lacks the key, it fails
                            // the same way and this error stands.
                            await renewTokenIfRejected(reading: String(decoding: create.key, as: UTF8.self))
                            let code =
                                watch.cancelReason.contains("auth token")
                                ? EtcdError.unauthenticated : EtcdError.permissionDenied
                            throw EtcdError.server(code: code, message: watch.cancelReason)
                        }
                        throw EtcdError.unreachable("\(endpoint): watch cancelled: \(watch.cancelReason)")
                    }
                    if watch.isCreated { onOpen(endpoint) }
                    if !watch.watchEvents.isEmpty { batch.append(watch) }
                }
                if !batch.isEmpty { try onMessages(batch) }
            }
        } catch let error as EtcdError {
            if error.isEndpointFailure { avoid(endpoint) }
            throw error
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            if Task.isCancelled { throw CancellationError() }
            avoid(endpoint)
            throw EtcdError.unreachable("\(endpoint): watch stream broke: \(error)")
        }
        avoid(endpoint)
        throw EtcdError.unreachable("\(endpoint): watch stream ended")
    }
}

/// Cuts a byte stream into newline-terminated messages (the gateway writes one JSON message per line).
struct NewlineSplitter {
    /// A catch-up message holds at most a few MiB of events; anything near this is not etcd talking.
    static let maximumLine = 64 << 20

    private var buffer = ByteBuffer()
    /// Bytes of the unfinished line already searched for a newline, so a long message arriving in small chunks
    /// is scanned once, not once per chunk.
    private var scanned = 0

    mutating func append(_ chunk: ByteBuffer) throws(EtcdError) {
        var chunk = chunk
        buffer.writeBuffer(&chunk)
        if buffer.readableBytes > Self.maximumLine {
            throw .malformed("a watch message longer than \(Self.maximumLine) bytes")
        }
    }

    /// The next complete line without its newline, or nil until more bytes arrive. Blank lines are skipped.
    mutating func next() -> Data? {
        while true {
            let unread = buffer.readableBytesView
            guard let newline = unread.dropFirst(scanned).firstIndex(of: UInt8(ascii: "\n")) else {
                scanned = unread.count
                if buffer.readerIndex > 1 << 16 { buffer.discardReadBytes() }
                return nil
            }
            scanned = 0
            let length = newline - buffer.readerIndex
            let line = buffer.readData(length: length) ?? Data()
            buffer.moveReaderIndex(forwardBy: 1)
            if !line.allSatisfy({ $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\r") }) {
                return line
            }
        }
    }
}
