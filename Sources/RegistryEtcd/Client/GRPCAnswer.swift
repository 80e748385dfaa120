import Foundation
import NIOCore
import NIOHTTP2

/// A unary gRPC answer as its frames arrive: the response headers, the length-prefixed message, the trailers.
struct GRPCAnswer {
    let maximumBytes: Int
    private var body = ByteBuffer()
    private var sawHeaders = false
    private var status: EtcdGRPCConnection.Status? = nil

    init(maximumBytes: Int) {
        self.maximumBytes = maximumBytes
    }

    /// Takes one frame; returns true when the answer is complete (the stream ended).
    mutating func take(_ payload: HTTP2Frame.FramePayload) throws -> Bool {
        switch payload {
        case .headers(let headers):
            if !sawHeaders {
                sawHeaders = true
                let code = headers.headers.first(name: ":status") ?? ""
                guard code == "200" else { throw EtcdError.malformed("HTTP status \(code) to a gRPC call") }
            }
            // The trailers, or headers that carry the status at once ("trailers-only", for an error).
            if let text = headers.headers.first(name: "grpc-status") {
                guard let code = Int(text) else { throw EtcdError.malformed("grpc-status '\(text)'") }
                let message = headers.headers.first(name: "grpc-message") ?? ""
                status = .init(code: code, message: message.removingPercentEncoding ?? message)
            }
            return headers.endStream
        case .data(let data):
            guard sawHeaders, case .byteBuffer(var bytes) = data.data else {
                throw EtcdError.malformed("gRPC data before its headers")
            }
            body.writeBuffer(&bytes)
            // The length prefix says how big the answer will be: refuse it before it is all read; and whatever
            // follows the one message is not buffered without bound either.
            if let length = body.getInteger(at: body.readerIndex + 1, as: UInt32.self), Int(length) > maximumBytes {
                throw EtcdError.responseTooBig("a gRPC message of \(length) octets, more than \(maximumBytes)")
            }
            if body.readableBytes > maximumBytes + 5 {
                throw EtcdError.responseTooBig("more than \(maximumBytes) octets of gRPC data")
            }
            return data.endStream
        default:
            return false
        }
    }

    /// The answer's message once the stream ended; throws its status when that is not OK.
    func message() throws -> ByteBuffer {
        guard let status else { throw EtcdError.malformed("a gRPC answer without grpc-status") }
        guard status.code == 0 else { throw status }
        var body = body
        guard let compressed = body.readInteger(as: UInt8.self), let length = body.readInteger(as: UInt32.self),
            compressed == 0, body.readableBytes == Int(length), let message = body.readSlice(length: Int(length))
        else {
            throw EtcdError.malformed("a gRPC answer that is not one uncompressed message")
        }
        return message
    }
}
