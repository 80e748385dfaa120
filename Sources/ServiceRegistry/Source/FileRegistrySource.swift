import Foundation
import Logging
import Synchronization

/// The embedded registry source: a YAML or JSON file, reloaded when it changes and when `reload()` is called
/// (the server does on SIGHUP).
///
/// Change detection polls the file's (device, inode, size, mtime ns) rather than using inotify: it works the same
/// on every platform and filesystem (ConfigMap volumes swap a symlink, editors rename a new file over the old),
/// and one `stat` per second costs nothing. A changed file is read once two looks a poll apart find it unchanged,
/// so a file being written in place is not taken half-written. A file that fails validation (an empty one
/// included) is logged with file, line and field and skipped; the last good snapshot keeps serving.
///
/// All mutable state sits behind one `Mutex`, so `reload()` and `loadNow()` are safe from any thread while
/// `watch` runs. Run one `watch` at a time per source.
public final class FileRegistrySource: RegistrySource {
    public let path: String
    public let pollInterval: Duration
    let startThreads: Int
    let logger: Logger
    private let state = Mutex(State())

    /// How long after its mtime a file's fingerprint is not trusted on its own: a rewrite within the filesystem's
    /// timestamp granularity can leave size, inode and mtime unchanged, so recently written files are re-read
    /// and compared by content until they age past this (git's "racily clean" rule).
    static let racyWindowNanoseconds: Int64 = 2_000_000_000

    struct State {
        var version: UInt64 = 0
        var current: RegistrySnapshot?
        /// The fingerprint and content hash of the last file read, accepted or rejected, so that a rejected file
        /// is reported once rather than on every poll.
        var seen: FileFingerprint?
        var seenContentHash: Int?
        /// A version of the file seen once and not read yet: it is read when the next look finds it unchanged.
        var pending: FileFingerprint?
        var missingReported = false
        /// Unreadable or invalid file versions seen, each counted once, when first reported.
        var rejections = 0
        var reloadPending = false
        var waiter: CheckedContinuation<Bool, Never>?
    }

    /// `startThreads`: threads the first read may decode on (a start, before anything is answered); every
    /// read after it decodes on one, beside the threads answering queries.
    public init(path: String, pollInterval: Duration = .seconds(1), startThreads: Int = 1, logger: Logger) {
        self.path = path
        self.pollInterval = pollInterval
        self.startThreads = startThreads
        self.logger = logger
    }

    public func initialSnapshot() async throws -> RegistrySnapshot {
        try loadNow(threads: startThreads)
    }

    public func status() -> RegistrySourceStatus {
        RegistrySourceStatus(rejections: withState { $0.rejections })
    }

    /// Reads and decodes the file once. An unchanged registry returns the current snapshot again; a changed one
    /// becomes the next version. Used by `scdns check`, by `initialSnapshot()` and by tests.
    public func loadNow(threads: Int = 1) throws(RegistryError) -> RegistrySnapshot {
        let fingerprint = FileFingerprint.of(path: path)
        let text = try readFile()
        let services = try RegistryDecoder.decode(text, file: path, threads: threads)
        return state.withLock { state in
            state.seen = fingerprint
            state.seenContentHash = text.hashValue
            state.missingReported = false
            return accept(services, state: &state).snapshot
        }
    }

    /// Asks the watch loop to re-read the file now, whether or not it looks changed. Safe from any thread,
    /// including a signal-handling task; calls made while a read is under way lead to one more read.
    public func reload() {
        let waiter = state.withLock { state -> CheckedContinuation<Bool, Never>? in
            if let waiter = state.waiter {
                state.waiter = nil
                return waiter
            }
            state.reloadPending = true
            return nil
        }
        waiter?.resume(returning: true)
    }

    public func watch(publish: @escaping @Sendable (RegistrySnapshot) -> Void) async {
        logger.info("watching registry file", metadata: ["file": "\(path)", "interval": "\(pollInterval)"])
        // Whatever the caller already has (from initialSnapshot()) is not published again; anything newer is,
        // including a snapshot accepted by a loadNow() call made while watching.
        var publishedVersion = withState { $0.current?.version ?? 0 }
        var forced = false
        while !Task.isCancelled {
            poll(forced: forced)
            if let current = withState({ $0.current }), current.version > publishedVersion {
                publishedVersion = current.version
                publish(current)
            }
            forced = await nextTick()
        }
    }

    /// Runs `body` with the state locked. Internal so that the polling half, in its own file, shares the lock.
    func withState<Result: Sendable>(_ body: (inout State) -> Result) -> Result {
        state.withLock { body(&$0) }
    }

    /// Records a file read that decoded, and accepts its services.
    func acceptRead(
        _ services: [Service],
        fingerprint: FileFingerprint,
        hash: Int
    ) -> (snapshot: RegistrySnapshot, isNew: Bool) {
        state.withLock { state in
            state.seen = fingerprint
            state.seenContentHash = hash
            state.missingReported = false
            return accept(services, state: &state)
        }
    }

    /// Suspends until `reload()` is called (true) or the task is cancelled (false).
    func waitForReload() async -> Bool {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
                let immediate = state.withLock { state -> Bool? in
                    if state.reloadPending {
                        state.reloadPending = false
                        return true
                    }
                    // Checked under the lock: a cancellation handler that ran before the waiter was stored found
                    // nothing to resume, so the waiter must not be stored now.
                    if Task.isCancelled {
                        return false
                    }
                    state.waiter = continuation
                    return nil
                }
                if let immediate {
                    continuation.resume(returning: immediate)
                }
            }
        } onCancel: {
            let waiter = state.withLock { state -> CheckedContinuation<Bool, Never>? in
                defer { state.waiter = nil }
                return state.waiter
            }
            waiter?.resume(returning: false)
        }
    }

    /// Makes `services` the current snapshot unless they equal it, in which case nothing new is published.
    private func accept(_ services: [Service], state: inout State) -> (snapshot: RegistrySnapshot, isNew: Bool) {
        if let current = state.current, current.services == services {
            return (current, false)
        }
        state.version += 1
        let snapshot = RegistrySnapshot(services: services, version: state.version, origin: path)
        state.current = snapshot
        return (snapshot, true)
    }

    func readFile() throws(RegistryError) -> String {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw RegistryError(file: path, message: "cannot read the registry file: \(error.localizedDescription)")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw RegistryError(file: path, message: "the registry file is not valid UTF-8")
        }
        return text
    }
}
