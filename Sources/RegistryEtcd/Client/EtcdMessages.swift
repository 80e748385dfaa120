// swift-format-ignore-file: AlwaysUseLowerCamelCase
// Field names are etcd's proto field names verbatim (snake_case, TTL, ID), so each maps to the wire with no
// coding keys and can be looked up in etcd's API reference as written.

import Foundation

// The JSON shapes of etcd's v3 gateway (the protobuf messages of etcdserverpb in proto3's JSON mapping): keys and
// values are base64 (`Data`), 64-bit integers are strings, fields keep their proto names, and fields at their
// default value (0, false, empty, PUT) are left out of responses.

/// A 64-bit integer as proto3 JSON writes it: a string, though a number is accepted too.
struct EtcdInt64: Codable, Sendable, Equatable {
    var value: Int64

    init(_ value: Int64) { self.value = value }

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let text = try? container.decode(String.self), let value = Int64(text) {
            self.value = value
        } else {
            value = try container.decode(Int64.self)
        }
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(String(value))
    }
}

/// Only the revision is read: cluster_id and member_id are uint64 values that often exceed Int64, and nothing
/// here needs them.
struct ResponseHeader: Decodable, Sendable {
    var revision: EtcdInt64?
}

/// One key and its value, as range and watch return it.
public struct KeyValue: Decodable, Sendable {
    public var key: Data
    public var value: Data?
    var create_revision: EtcdInt64?
    var mod_revision: EtcdInt64?
    var lease: EtcdInt64?

    public var keyText: String { String(decoding: key, as: UTF8.self) }
    public var valueText: String { String(decoding: value ?? Data(), as: UTF8.self) }
    public var modRevision: Int64 { mod_revision?.value ?? 0 }
    /// The revision the key was created at (0 in a delete event).
    public var createRevision: Int64 { create_revision?.value ?? 0 }
    public var leaseID: Int64 { lease?.value ?? 0 }
}

struct RangeRequest: Encodable {
    var key: Data
    var range_end: Data?
    var limit: EtcdInt64?
    var revision: EtcdInt64?
    var keys_only: Bool?
    var count_only: Bool?
    var sort_order: String?
    var sort_target: String?
}

struct RangeResponse: Decodable {
    var header: ResponseHeader?
    var kvs: [KeyValue]?
    var more: Bool?
    var count: EtcdInt64?
}

struct PutRequest: Encodable {
    var key: Data
    var value: Data
    var lease: EtcdInt64?
}

struct DeleteRangeRequest: Encodable {
    var key: Data
    var range_end: Data?
}

struct HeaderOnlyResponse: Decodable {
    var header: ResponseHeader?
    var deleted: EtcdInt64?
}

/// One operation of a transaction.
struct RequestOp: Encodable {
    var request_range: RangeRequest?
    var request_put: PutRequest?
    var request_delete_range: DeleteRangeRequest?
}

/// A transaction condition (result EQUAL): "this key is bound to this lease" (a missing key has lease 0), or
/// "this key was created at this revision" (0: it does not exist).
struct Compare: Encodable {
    var key: Data
    var target: String
    var lease: EtcdInt64?
    var create_revision: EtcdInt64?

    static func lease(_ key: String, _ lease: Int64) -> Compare {
        Compare(key: Data(key.utf8), target: "LEASE", lease: EtcdInt64(lease))
    }

    static func absent(_ key: String) -> Compare {
        Compare(key: Data(key.utf8), target: "CREATE", create_revision: EtcdInt64(0))
    }
}

struct TxnRequest: Encodable {
    var compare: [Compare]?
    var success: [RequestOp]
    var failure: [RequestOp]?
}

struct TxnResponse: Decodable {
    var header: ResponseHeader?
    var succeeded: Bool?
    var responses: [ResponseOp]?
}

/// One operation's result in a transaction's answer; only ranges are read.
struct ResponseOp: Decodable {
    var response_range: RangeResponse?
}

struct AuthenticateRequest: Encodable {
    var name: String
    var password: String
}

struct AuthenticateResponse: Decodable {
    var header: ResponseHeader?
    var token: String?
}

struct LeaseGrantRequest: Encodable {
    var TTL: EtcdInt64
}

struct LeaseGrantResponse: Decodable {
    var header: ResponseHeader?
    var ID: EtcdInt64?
    var TTL: EtcdInt64?
    var error: String?
}

struct LeaseIDRequest: Encodable {
    var ID: EtcdInt64
}

/// Streaming calls (keep-alive, watch) wrap each message in `result`.
struct StreamMessage<Result: Decodable>: Decodable {
    var result: Result?
    var error: GatewayError?
}

struct LeaseKeepAliveResponse: Decodable {
    var header: ResponseHeader?
    var ID: EtcdInt64?
    var TTL: EtcdInt64?
}

struct CompactionRequest: Encodable {
    var revision: EtcdInt64
    var physical: Bool
}

struct WatchCreate: Encodable {
    var key: Data
    var range_end: Data?
    var start_revision: EtcdInt64?
    /// etcd then sends an empty message now and then (every 10 minutes by default) on an idle watch.
    var progress_notify: Bool?
}

struct WatchRequest: Encodable {
    var create_request: WatchCreate
}

/// One message of a watch stream.
public struct WatchResponse: Decodable, Sendable {
    var header: ResponseHeader?
    var created: Bool?
    var canceled: Bool?
    var compact_revision: EtcdInt64?
    var cancel_reason: String?
    var events: [WatchEvent]?

    public var isCreated: Bool { created ?? false }
    public var isCanceled: Bool { canceled ?? false }
    /// Non-zero when the watch was cancelled because its start revision was compacted away.
    public var compactRevision: Int64 { compact_revision?.value ?? 0 }
    public var cancelReason: String { cancel_reason ?? "" }
    public var watchEvents: [WatchEvent] { events ?? [] }
}

public struct WatchEvent: Decodable, Sendable {
    /// "DELETE", or absent for a put (proto3 leaves out the default enum value).
    var type: String?
    public var kv: KeyValue

    public var isDelete: Bool { type == "DELETE" }
}

/// The body of a gateway error: the gRPC status code and message.
struct GatewayError: Decodable, Sendable {
    var code: Int?
    var message: String?
    var error: String?
}
