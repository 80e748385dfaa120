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
}
