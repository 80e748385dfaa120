import Foundation
import NIOCore

/// The result of listing a prefix: every key at one revision.
public struct RangeResult: Sendable {
    public var keyValues: [KeyValue]
    /// The store revision the listing is consistent at; a watch from `revision + 1` misses nothing.
    public var revision: Int64
}

/// One change inside a transaction.
public enum EtcdOperation: Sendable {
    case put(key: String, value: String, lease: Int64)
    case delete(key: String)
}

extension EtcdClient {
    /// The first key after every key that starts with `prefix` (etcd's `range_end` for a prefix): the prefix
    /// with its last byte below 0xff incremented and the rest dropped.
    public static func prefixEnd(_ prefix: String) -> Data {
        var bytes = Array(prefix.utf8)
        while let last = bytes.last {
            if last < 0xff {
                bytes[bytes.count - 1] = last + 1
                return Data(bytes)
            }
            bytes.removeLast()
        }
        return Data([0])  // every key
    }

    /// Keys a listing asks for at once (below, why so many).
    public static let listingPageSize = 25_000

    /// Every key under `prefix`, read in pages of `pageSize` at one pinned revision so a big registry is not
    /// one giant response and still comes out as one consistent view. A page too big to be read
    /// (`maximumResponseBytes`) is asked again at half the size, down to one key. Throws `.compacted` if the pinned
    /// revision is compacted between pages (the caller lists again).
    ///
    /// Pages travel over gRPC, not the gateway (`EtcdClient` says why); everything else here goes through the
    /// gateway.
    ///
    /// Pages are large because etcd (3.4) counts every key from a page's first to the range's end for each
    /// page, whatever its limit: 135 ms of etcd's CPU at 300,000 keys for a page of one. Pages of 1,000 made a
    /// listing of 300,000 exports quadratic, 19 s of the 28 s an instance took to start. Over gRPC, pages of
    /// 25,000 (about 6 MB) cost etcd 1.3 s of CPU for those 300,000 against 2.1 s in pages of 10,000
    /// (BENCHMARKS.md).
    public func list(
        prefix: String, pageSize: Int = EtcdClient.listingPageSize, keysOnly: Bool = false
    ) async throws(EtcdError)
        -> RangeResult
    {
        var all: [KeyValue] = []
        let revision = try await list(prefix: prefix, pageSize: pageSize, keysOnly: keysOnly) { all += $0 }
        return RangeResult(keyValues: all, revision: revision)
    }

    /// `list`, each page handed to `page` as it arrives, before the next is asked for (a caller can read one
    /// while etcd makes the next); returns the pinned revision.
    public func list(
        prefix: String, pageSize: Int = EtcdClient.listingPageSize, keysOnly: Bool = false,
        page handle: ([KeyValue]) -> Void
    ) async throws(EtcdError) -> Int64 {
        let end = Self.prefixEnd(prefix)
        var start = Data(prefix.utf8)
        var revision: Int64? = nil
        var pageSize = pageSize
        while true {
            let request = RangeRequest(
                key: start, range_end: end, limit: EtcdInt64(Int64(pageSize)), revision: revision.map(EtcdInt64.init),
                keys_only: keysOnly ? true : nil)
            let response: RangeResponse
            do {
                response = try await rangeOverGRPC(request)
            } catch .responseTooBig(let detail) where pageSize > 1 {
                pageSize /= 2
                logger.notice(
                    "etcd listing page too big; halving it", metadata: ["detail": "\(detail)", "page": "\(pageSize)"])
                continue
            }
            let page = response.kvs ?? []
            if revision == nil { revision = response.header?.revision?.value ?? 0 }
            handle(page)
            guard response.more == true, let last = page.last else { break }
            start = last.key + Data([0])  // the next key after the last one read
        }
        return revision ?? 0
    }

    /// One Range over gRPC.
    private func rangeOverGRPC(_ request: RangeRequest) async throws(EtcdError) -> RangeResponse {
        let answer = try await grpcCall("/etcdserverpb.KV/Range", RangeProtobuf.encode(request))
        guard let response = answer.withUnsafeReadableBytes({ RangeProtobuf.decodeResponse($0) }) else {
            throw .malformed("a Range answer that is not a RangeResponse (\(answer.readableBytes) octets)")
        }
        return response
    }

    /// The value of one key, or nil.
    public func get(_ key: String) async throws(EtcdError) -> KeyValue? {
        let request = RangeRequest(key: Data(key.utf8))
        return try await call("/v3/kv/range", request, as: RangeResponse.self).kvs?.first
    }

    /// Writes one key (with `lease` when non-zero); returns the new store revision.
    @discardableResult
    public func put(_ key: String, value: String, lease: Int64 = 0) async throws(EtcdError) -> Int64 {
        let request = PutRequest(
            key: Data(key.utf8), value: Data(value.utf8), lease: lease == 0 ? nil : EtcdInt64(lease))
        return try await call("/v3/kv/put", request, as: HeaderOnlyResponse.self).header?.revision?.value ?? 0
    }

    /// Deletes one key, or every key under it when `prefix`; returns how many were deleted.
    @discardableResult
    public func delete(_ key: String, prefix: Bool = false) async throws(EtcdError) -> Int64 {
        let request = DeleteRangeRequest(key: Data(key.utf8), range_end: prefix ? Self.prefixEnd(key) : nil)
        return try await call("/v3/kv/deleterange", request, as: HeaderOnlyResponse.self).deleted?.value ?? 0
    }

    /// Applies every operation atomically in one transaction (no conditions); returns the new revision. etcd
    /// limits a transaction to `--max-txn-ops` operations (128 by default).
    @discardableResult
    public func transaction(_ operations: [EtcdOperation]) async throws(EtcdError) -> Int64 {
        let response = try await call(
            "/v3/kv/txn", TxnRequest(compare: nil, success: operations.map(Self.requestOp)), as: TxnResponse.self)
        return response.header?.revision?.value ?? 0
    }

    /// Applies every operation atomically if `key` is bound to `lease` (the caller's claim still holds); returns
    /// the new revision, or nil when the key is not on the lease and nothing was done.
    public func transaction(
        _ operations: [EtcdOperation], ifKey key: String, isOnLease lease: Int64
    )
        async throws(EtcdError) -> Int64?
    {
        let request = TxnRequest(compare: [.lease(key, lease)], success: operations.map(Self.requestOp))
        let response = try await call("/v3/kv/txn", request, as: TxnResponse.self)
        guard response.succeeded == true else { return nil }
        return response.header?.revision?.value ?? 0
    }

    /// Creates `key` with `value` on `lease` unless it exists. Returns nil when it was created, or the key as it
    /// stands (its holder's value and lease) when it already existed; in both cases also the revision.
    public func create(
        _ key: String, value: String, lease: Int64
    ) async throws(EtcdError) -> (
        existing: KeyValue?, revision: Int64
    ) {
        let request = TxnRequest(
            compare: [.absent(key)],
            success: [Self.requestOp(.put(key: key, value: value, lease: lease))],
            failure: [RequestOp(request_range: RangeRequest(key: Data(key.utf8)))])
        let response = try await call("/v3/kv/txn", request, as: TxnResponse.self)
        let revision = response.header?.revision?.value ?? 0
        if response.succeeded == true { return (nil, revision) }
        guard let existing = response.responses?.first?.response_range?.kvs?.first else {
            // Deleted between the comparison and the range: the same transaction cannot see that, so this does not
            // happen; say so rather than claim what was not created.
            throw .malformed("a failed create of \(key) without the key it found")
        }
        return (existing, revision)
    }

    private static func requestOp(_ operation: EtcdOperation) -> RequestOp {
        switch operation {
        case .put(let key, let value, let lease):
            RequestOp(
                request_put: PutRequest(
                    key: Data(key.utf8), value: Data(value.utf8), lease: lease == 0 ? nil : EtcdInt64(lease)))
        case .delete(let key):
            RequestOp(request_delete_range: DeleteRangeRequest(key: Data(key.utf8)))
        }
    }

    /// A new lease of `ttl` seconds; returns its ID and the TTL etcd granted (it may raise a very short one).
    public func grantLease(ttl: Int64) async throws(EtcdError) -> (id: Int64, ttl: Int64) {
        let response = try await call(
            "/v3/lease/grant", LeaseGrantRequest(TTL: EtcdInt64(ttl)), as: LeaseGrantResponse.self)
        if let error = response.error, !error.isEmpty { throw .server(code: 0, message: error) }
        guard let id = response.ID?.value, id != 0 else { throw .malformed("lease grant without an ID") }
        return (id, response.TTL?.value ?? ttl)
    }

    /// Renews a lease once; returns the TTL left, 0 when the lease no longer exists (expired or revoked).
    public func keepAlive(lease: Int64) async throws(EtcdError) -> Int64 {
        let message = try await call(
            "/v3/lease/keepalive", LeaseIDRequest(ID: EtcdInt64(lease)),
            as: StreamMessage<LeaseKeepAliveResponse>.self)
        if let error = message.error {
            throw .server(code: error.code ?? 0, message: error.message ?? error.error ?? "")
        }
        return message.result?.TTL?.value ?? 0
    }

    /// Ends a lease now; its keys are deleted at once. A lease already gone is not an error.
    public func revokeLease(_ lease: Int64) async throws(EtcdError) {
        do {
            _ = try await call("/v3/lease/revoke", LeaseIDRequest(ID: EtcdInt64(lease)), as: HeaderOnlyResponse.self)
        } catch .server(let code, _) where code == EtcdError.notFound {
            return
        }
    }

    /// Discards history before `revision` (what etcd's auto-compaction does), so watches from earlier fail.
    public func compact(revision: Int64) async throws(EtcdError) {
        _ = try await call(
            "/v3/kv/compaction", CompactionRequest(revision: EtcdInt64(revision), physical: true),
            as: HeaderOnlyResponse.self)
    }

    /// The highest mod revision of any key under `prefix` (0 when there is none), by a linearizable read at
    /// `endpoint` only. etcd sorts by reading every key under the prefix, whatever the limit: costly on a big
    /// registry, so kept for when nothing cheaper says what a watch must have delivered.
    public func latestModRevision(prefix: String, at endpoint: EtcdEndpoint) async throws(EtcdError) -> Int64 {
        let request = RangeRequest(
            key: Data(prefix.utf8), range_end: Self.prefixEnd(prefix), limit: EtcdInt64(1), keys_only: true,
            sort_order: "DESCEND", sort_target: "MOD")
        return try await call("/v3/kv/range", request, as: RangeResponse.self, only: endpoint).kvs?.first?
            .modRevision ?? 0
    }

    /// The highest mod revision among `keys` (0 when none exists), by linearizable reads of those keys only, in
    /// transactions of at most 100 reads, at `endpoint` only. It needs a quorum, so it proves the member is part
    /// of one; and a watch served by that member must deliver that revision.
    public func newestModRevision(of keys: [String], at endpoint: EtcdEndpoint) async throws(EtcdError) -> Int64 {
        var newest: Int64 = 0
        var start = 0
        repeat {
            let chunk = keys[start..<min(keys.count, start + 100)]
            let request = TxnRequest(
                compare: nil, success: chunk.map { RequestOp(request_range: RangeRequest(key: Data($0.utf8))) })
            let response = try await call("/v3/kv/txn", request, as: TxnResponse.self, only: endpoint)
            for result in response.responses ?? [] {
                newest = max(newest, result.response_range?.kvs?.first?.modRevision ?? 0)
            }
            start += 100
        } while start < keys.count
        return newest
    }

    /// Whether every key in `keys` exists and is bound to `lease`, checked by compare-only transactions of at
    /// most 100 keys each (etcd's --max-txn-ops counts comparisons too).
    public func keysHeld(_ keys: [String], lease: Int64) async throws(EtcdError) -> Bool {
        var start = 0
        while start < keys.count {
            let chunk = keys[start..<min(keys.count, start + 100)]
            let request = TxnRequest(
                compare: chunk.map { Compare.lease($0, lease) },
                success: [])
            guard try await call("/v3/kv/txn", request, as: TxnResponse.self).succeeded == true else { return false }
            start += 100
        }
        return true
    }

    /// The current store revision, by a linearizable read (it needs a quorum, so it also proves the member
    /// answering is part of one), counting the one key `key` (by default the key "\0"). A user confined by
    /// etcd roles passes a key it may read: the read is refused otherwise. With `endpoint`, only that member is
    /// asked.
    public func currentRevision(
        reading key: String? = nil, at endpoint: EtcdEndpoint? = nil
    ) async throws(EtcdError)
        -> Int64
    {
        let request = RangeRequest(key: key.map { Data($0.utf8) } ?? Data([0]), count_only: true)
        return try await call("/v3/kv/range", request, as: RangeResponse.self, only: endpoint).header?.revision?
            .value ?? 0
    }
}
