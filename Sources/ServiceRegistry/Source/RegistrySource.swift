/// Something that produces registry snapshots: the file source here, the etcd source in `RegistryEtcd`.
///
/// A source only ever publishes snapshots that passed validation. The server starts from `initialSnapshot()` and
/// then runs `watch` for its lifetime, swapping in each published snapshot atomically.
public protocol RegistrySource: Sendable {
    /// The first valid snapshot, or the error that prevents one (the server refuses to start without it).
    func initialSnapshot() async throws -> RegistrySnapshot

    /// Runs until the task is cancelled, calling `publish` with each new valid snapshot. Invalid input is logged
    /// (with file, line, field) and skipped: the last good snapshot keeps serving.
    func watch(publish: @escaping @Sendable (RegistrySnapshot) -> Void) async

    /// Whether the source is in touch with what it follows, for the admin endpoint's `/ready` and metrics. A
    /// file source is never stale: the file is the truth.
    func status() -> RegistrySourceStatus
}

extension RegistrySource {
    public func status() -> RegistrySourceStatus { RegistrySourceStatus() }
}

/// How current a source's last snapshot is.
public struct RegistrySourceStatus: Sendable, Equatable {
    /// True while the source cannot reach what it follows (etcd): the last snapshot keeps serving, but changes
    /// made meanwhile are not seen.
    public var stale: Bool
    /// The etcd revision of the last snapshot; nil for a file.
    public var revision: Int64?
    /// The endpoint the source last talked to successfully; nil for a file.
    public var endpoint: String?
    /// When the source became stale, while it is; `/ready` fails once this is older than its bound.
    public var staleSince: ContinuousClock.Instant?
    /// Inputs rejected since start: file versions that failed validation or could not be read, etcd values that
    /// failed validation. Each is counted once, when it is first logged (`scdns_registry_reloads_total`).
    public var rejections: Int

    public init(
        stale: Bool = false, revision: Int64? = nil, endpoint: String? = nil,
        staleSince: ContinuousClock.Instant? = nil, rejections: Int = 0
    ) {
        self.stale = stale
        self.revision = revision
        self.endpoint = endpoint
        self.staleSince = staleSince
        self.rejections = rejections
    }
}
