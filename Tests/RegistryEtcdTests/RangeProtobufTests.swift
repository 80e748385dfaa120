import Foundation
import NIOCore
import NIOHPACK
import NIOHTTP2
import XCTest

@testable import RegistryEtcd

/// A listing's Range over gRPC, below the connection: the two messages' protobuf octets written out by hand from
/// etcd's .proto field numbers, and a unary answer's frames as etcd sends them. The whole path against a real etcd
/// (plain, TLS, authenticated, compacted, restarted) is in scdnsTests' etcd tests, which list through it.
final class RangeProtobufTests: XCTestCase {
    // MARK: - Protobuf

    func testARequestIsWrittenFieldByFieldAndDefaultsAreLeftOut() {
        let request = RangeRequest(
            key: Data("/a".utf8), range_end: Data("/b".utf8), limit: EtcdInt64(10_000), revision: EtcdInt64(300),
            keys_only: true)
        XCTAssertEqual(
            RangeProtobuf.encode(request),
            [
                0x0a, 2, 0x2f, 0x61,  // 1 key "/a"
                0x12, 2, 0x2f, 0x62,  // 2 range_end "/b"
                0x18, 0x90, 0x4e,  // 3 limit 10,000
                0x20, 0xac, 0x02,  // 4 revision 300
                0x40, 1,  // 8 keys_only
            ])
        // A key alone: no limit, revision or flags at their defaults (proto3 sends none of them).
        XCTAssertEqual(
            RangeProtobuf.encode(RangeRequest(key: Data([0]), limit: EtcdInt64(0), keys_only: false, count_only: true)),
            [0x0a, 1, 0, 0x48, 1])
    }

    /// A response as etcd writes it, with the fields scdns does not read (cluster and member IDs above Int64,
    /// a key's version) and fields of every wire type etcd might add later: those are skipped.
    func testAResponseIsReadAndEveryOtherFieldSkipped() throws {
        var header: [UInt8] = []
        header += field(1, varint: UInt64.max - 5)  // cluster_id, above Int64
        header += field(2, varint: 1 << 63)  // member_id
        header += field(3, varint: 301)  // revision
        header += field(4, varint: 7)  // raft_term
        var first: [UInt8] = field(1, bytes: Array("/k/1".utf8))
        first += field(2, varint: 5) + field(3, varint: 9) + field(4, varint: 2)  // create, mod, version
        first += field(5, bytes: Array(#"{"a":1}"#.utf8)) + field(6, varint: 0x7fff_ffff_ffff)
        first += [0x3d, 1, 2, 3, 4]  // 7 fixed32, not in kv.proto
        let second: [UInt8] = field(1, bytes: Array("/k/2".utf8)) + field(3, varint: 10)  // no value, no lease
        var message = field(1, bytes: header) + field(2, bytes: first) + field(2, bytes: second)
        message += [0x49] + Array(repeating: 0xee, count: 8)  // 9 fixed64
        message += field(12, bytes: [1, 2, 3])  // 12 unknown, length-delimited
        message += field(3, varint: 1) + field(4, varint: 2)  // more, count
        let response = try XCTUnwrap(decode(message))
        XCTAssertEqual(response.header?.revision?.value, 301)
        XCTAssertEqual(response.more, true)
        XCTAssertEqual(response.count?.value, 2)
        let keyValues = try XCTUnwrap(response.kvs)
        XCTAssertEqual(keyValues.map(\.keyText), ["/k/1", "/k/2"])
        XCTAssertEqual(keyValues.map(\.valueText), [#"{"a":1}"#, ""])
        XCTAssertNil(keyValues[1].value)
        XCTAssertEqual(keyValues.map(\.createRevision), [5, 0])
        XCTAssertEqual(keyValues.map(\.modRevision), [9, 10])
        XCTAssertEqual(keyValues.map(\.leaseID), [0x7fff_ffff_ffff, 0])
        // An empty range: no kvs, no more (etcd leaves fields at their default out).
        let empty = try XCTUnwrap(decode(field(1, bytes: field(3, varint: 4))))
        XCTAssertNil(empty.kvs)
        XCTAssertNil(empty.more)
        XCTAssertEqual(empty.header?.revision?.value, 4)
    }

    /// A message cut short anywhere inside a field, or with octets no protobuf writer makes, is refused rather
    /// than read as fewer keys.
    func testAMalformedResponseIsRefused() {
        let keyValue = field(1, bytes: Array("/k".utf8)) + field(5, bytes: Array("value".utf8))
        let whole = field(1, bytes: field(3, varint: 300)) + field(2, bytes: keyValue) + field(3, varint: 1)
        XCTAssertNotNil(decode(whole))
        // Field boundaries of the outer message: a cut there is a shorter, well-formed message.
        let boundaries: Set<Int> = [0, 5, 5 + 2 + keyValue.count, whole.count]
        for cut in 0...whole.count where !boundaries.contains(cut) {
            XCTAssertNil(decode(Array(whole.prefix(cut))), "cut at \(cut)")
        }
        let malformed: [(String, [UInt8])] = [
            ("a length past the end", [0x12, 0x7f, 0x0a]),
            ("a group start (wire type 3)", [0x1b]),
            ("a group end (wire type 4)", [0x1c]),
            ("wire type 6", [0x1e]),
            ("wire type 7", [0x1f]),
            ("field number 0", [0x00, 0x01]),
            ("a varint of eleven octets", [0x18] + Array(repeating: 0xff, count: 10) + [0x01]),
            ("a key value with a bad inner field", field(2, bytes: [0x0f])),
        ]
        for (name, bytes) in malformed {
            XCTAssertNil(decode(bytes), name)
        }
    }

    /// Many random listings, written by this test's encoder and read back.
    func testRandomListingsReadBackAsWritten() throws {
        var generator = EtcdRegistryStateTests.SeededGenerator(state: 0x5eed_0c0d)
        for _ in 0..<200 {
            var written: [(key: [UInt8], value: [UInt8]?, create: UInt64, mod: UInt64, lease: UInt64)] = []
            var message = field(1, bytes: field(3, varint: UInt64.random(in: 1...1 << 40, using: &generator)))
            for _ in 0..<Int.random(in: 0...20, using: &generator) {
                let key = (0..<Int.random(in: 1...40, using: &generator)).map { _ in
                    UInt8.random(in: 0...255, using: &generator)
                }
                let value: [UInt8]? =
                    Bool.random(using: &generator)
                    ? (0..<Int.random(in: 1...300, using: &generator)).map { _ in
                        UInt8.random(in: 0...255, using: &generator)
                    } : nil
                let create = UInt64.random(in: 1...1 << 62, using: &generator)
                let mod = UInt64.random(in: 1...1 << 62, using: &generator)
                let lease = Bool.random(using: &generator) ? UInt64.random(in: 1...1 << 62, using: &generator) : 0
                written.append((key, value, create, mod, lease))
                var keyValue = field(1, bytes: key) + field(2, varint: create) + field(3, varint: mod)
                if let value { keyValue += field(5, bytes: value) }
                if lease != 0 { keyValue += field(6, varint: lease) }
                message += field(2, bytes: keyValue)
            }
            let response = try XCTUnwrap(decode(message))
            let read = response.kvs ?? []
            XCTAssertEqual(read.count, written.count)
            for (keyValue, expected) in zip(read, written) {
                XCTAssertEqual(Array(keyValue.key), expected.key)
                XCTAssertEqual(keyValue.value.map(Array.init), expected.value)
                XCTAssertEqual(keyValue.createRevision, Int64(expected.create))
                XCTAssertEqual(keyValue.modRevision, Int64(expected.mod))
                XCTAssertEqual(keyValue.leaseID, Int64(expected.lease))
            }
        }
    }

    // MARK: - A unary answer's frames

    func testAnAnswerSplitOverFramesIsOneMessage() throws {
        var answer = GRPCAnswer(maximumBytes: 1 << 20)
        XCTAssertFalse(try answer.take(headers([":status": "200", "content-type": "application/grpc"])))
        let frame = prefixed(Array(0..<200))
        XCTAssertFalse(try answer.take(data(Array(frame[..<3]))))
        XCTAssertFalse(try answer.take(data(Array(frame[3...]))))
        XCTAssertTrue(try answer.take(headers(["grpc-status": "0"], endStream: true)))
        XCTAssertEqual(Array(buffer: try answer.message()), Array(0..<200))
    }

    /// etcd's errors come as headers that end the stream (gRPC's "trailers-only"), the message percent-encoded.
    func testAnErrorIsItsStatusAndItsMessageDecoded() throws {
        var answer = GRPCAnswer(maximumBytes: 1 << 20)
        let ended = try answer.take(
            headers(
                [
                    ":status": "200", "content-type": "application/grpc", "grpc-status": "11",
                    "grpc-message": "etcdserver: mvcc: required revision has been compacted%0Aok",
                ], endStream: true))
        XCTAssertTrue(ended)
        XCTAssertThrowsError(try answer.message()) { error in
            let status = error as? EtcdGRPCConnection.Status
            XCTAssertEqual(status?.code, 11)
            XCTAssertEqual(status?.message, "etcdserver: mvcc: required revision has been compacted\nok")
            XCTAssertEqual(
                EtcdClient.etcdError(code: status?.code ?? 0, message: status?.message ?? ""),
                .compacted(compactRevision: 0))
        }
    }

    /// The length prefix says how big the message will be: one over the bound is refused at its first frame.
    func testAMessageOverTheBoundIsRefusedAtItsFirstFrame() throws {
        var answer = GRPCAnswer(maximumBytes: 100)
        _ = try answer.take(headers([":status": "200"]))
        let frame = prefixed(Array(repeating: 7, count: 101))
        XCTAssertThrowsError(try answer.take(data(Array(frame[..<8])))) { error in
            guard case .responseTooBig = error as? EtcdError else { return XCTFail("\(error)") }
        }
        // Data past the one message is bounded as well: a peer that sends a small message and then keeps on.
        var trailing = GRPCAnswer(maximumBytes: 10)
        _ = try trailing.take(headers([":status": "200"]))
        XCTAssertThrowsError(try trailing.take(data(prefixed([1]) + Array(repeating: 0, count: 20)))) { error in
            guard case .responseTooBig = error as? EtcdError else { return XCTFail("\(error)") }
        }
        var fits = GRPCAnswer(maximumBytes: 100)
        _ = try fits.take(headers([":status": "200"]))
        XCTAssertFalse(try fits.take(data(prefixed(Array(repeating: 7, count: 100)))))
    }

    func testWhatIsNotAGRPCAnswerIsMalformed() throws {
        func outcome(_ frames: [HTTP2Frame.FramePayload]) -> String {
            var answer = GRPCAnswer(maximumBytes: 1 << 20)
            do {
                for frame in frames where try answer.take(frame) { break }
                return "message of \(try answer.message().readableBytes)"
            } catch let error as EtcdError {
                guard case .malformed(let detail) = error else { return "\(error)" }
                return detail
            } catch {
                return "\(error)"
            }
        }
        let ok = headers([":status": "200"])
        let trailers = headers(["grpc-status": "0"], endStream: true)
        XCTAssertEqual(outcome([ok, data(prefixed([1, 2])), trailers]), "message of 2")
        XCTAssertEqual(outcome([headers([":status": "503"])]), "HTTP status 503 to a gRPC call")
        XCTAssertEqual(outcome([data(prefixed([1]))]), "gRPC data before its headers")
        XCTAssertEqual(outcome([ok, data(prefixed([1]), endStream: true)]), "a gRPC answer without grpc-status")
        XCTAssertEqual(outcome([ok, headers(["grpc-status": "zero"], endStream: true)]), "grpc-status 'zero'")
        var compressed = prefixed([1, 2])
        compressed[0] = 1
        XCTAssertEqual(
            outcome([ok, data(compressed), trailers]), "a gRPC answer that is not one uncompressed message")
        XCTAssertEqual(
            outcome([ok, data(prefixed([1, 2]) + prefixed([3])), trailers]),
            "a gRPC answer that is not one uncompressed message")
    }

    // MARK: - Helpers

    private func decode(_ bytes: [UInt8]) -> RangeResponse? {
        bytes.withUnsafeBytes { RangeProtobuf.decodeResponse($0) }
    }

    private func varint(_ value: UInt64) -> [UInt8] {
        var value = value
        var out: [UInt8] = []
        while value >= 0x80 {
            out.append(UInt8(value & 0x7f) | 0x80)
            value >>= 7
        }
        return out + [UInt8(value)]
    }

    private func field(_ number: UInt64, varint value: UInt64) -> [UInt8] {
        varint(number << 3) + varint(value)
    }

    private func field(_ number: UInt64, bytes: [UInt8]) -> [UInt8] {
        varint(number << 3 | 2) + varint(UInt64(bytes.count)) + bytes
    }

    private func prefixed(_ message: [UInt8]) -> [UInt8] {
        let length = UInt32(message.count)
        return [0, UInt8(length >> 24), UInt8(length >> 16 & 0xff), UInt8(length >> 8 & 0xff), UInt8(length & 0xff)]
            + message
    }

    private func headers(_ fields: KeyValuePairs<String, String>, endStream: Bool = false) -> HTTP2Frame.FramePayload {
        .headers(.init(headers: HPACKHeaders(fields.map { ($0.key, $0.value) }), endStream: endStream))
    }

    private func data(_ bytes: [UInt8], endStream: Bool = false) -> HTTP2Frame.FramePayload {
        .data(.init(data: .byteBuffer(ByteBuffer(bytes: bytes)), endStream: endStream))
    }
}
