import Foundation
import Logging

/// The watch loop's two halves: deciding whether the file changed and reading it, and waiting for the next poll
/// or a `reload()`.
extension FileRegistrySource {
    /// One look at the file: reads it when it changed (or when `forced`), accepts it when valid, logs otherwise.
    /// Accepted snapshots become `State.current`, which the watch loop publishes.
    func poll(forced: Bool) {
        guard let fingerprint = FileFingerprint.of(path: path) else {
            reportMissing(forced: forced, errorNumber: errno)
            return
        }
        let (previous, previousHash, pending) = withState { ($0.seen, $0.seenContentHash, $0.pending) }
        let racy = isRacy(fingerprint)
        guard forced || racy || previous != fingerprint else {
            return
        }
        // A new version is taken only once two looks a poll apart find it unchanged. A writer that truncates first
        // (`cat x > file`, `curl -o`) or pauses mid-file leaves a version, empty or a valid prefix, that changes
        // again before the second look. A reload (SIGHUP) is the operator asking: it reads at once.
        if !forced && previous != fingerprint && pending != fingerprint {
            withState { $0.pending = fingerprint }
            return
        }
        let text: String
        do {
            text = try readFile()
        } catch {
            reportRejected(error, fingerprint: fingerprint, hash: nil, forced: forced)
            return
        }
        // A file still being written in place reads as garbage: wait for it to settle rather than report it.
        guard FileFingerprint.of(path: path) == fingerprint else {
            return
        }
        // Unchanged bytes (a touch, or a racy re-check): nothing to decode, nothing to report again.
        if !forced, previousHash == text.hashValue {
            withState { $0.seen = fingerprint }
            return
        }
        do {
            let services = try RegistryDecoder.decode(text, file: path)
            let (snapshot, isNew) = acceptRead(services, fingerprint: fingerprint, hash: text.hashValue)
            if isNew {
                logger.info(
                    "registry loaded",
                    metadata: ["file": "\(path)", "version": "\(snapshot.version)", "services": "\(services.count)"]
                )
            } else {
                logger.debug("registry file re-read, no change", metadata: ["file": "\(path)"])
            }
        } catch {
            reportRejected(error, fingerprint: fingerprint, hash: text.hashValue, forced: forced)
        }
    }

    /// Waits for the poll interval or a `reload()`, whichever comes first; true when `reload()` ended the wait.
    func nextTick() async -> Bool {
        let interval = pollInterval
        return await withTaskGroup(of: Bool.self) { group in
            group.addTask {
                try? await Task.sleep(for: interval)
                return false
            }
            group.addTask {
                await self.waitForReload()
            }
            var forced = await group.next() ?? false
            group.cancelAll()
            // A reload() that raced the timer still counts.
            while let other = await group.next() {
                forced = forced || other
            }
            return forced
        }
    }

    private func isRacy(_ fingerprint: FileFingerprint) -> Bool {
        let now = Int64(Date().timeIntervalSince1970 * 1_000_000_000)
        return now - fingerprint.modifiedNanoseconds < FileRegistrySource.racyWindowNanoseconds
    }

    private func reportMissing(forced: Bool, errorNumber: Int32) {
        let alreadyReported = withState { state -> Bool in
            defer { state.missingReported = true }
            state.seen = nil
            state.seenContentHash = nil
            if !state.missingReported { state.rejections += 1 }
            return state.missingReported
        }
        guard forced || !alreadyReported else { return }
        let reason = String(cString: strerror(errorNumber))
        logger.error(
            "registry file cannot be read, keeping the last good snapshot: \(path): \(reason)",
            metadata: ["file": "\(path)"]
        )
    }

    /// Logs a rejected file once per version of it (again on a forced reload, so SIGHUP always answers).
    private func reportRejected(_ error: RegistryError, fingerprint: FileFingerprint, hash: Int?, forced: Bool) {
        let (version, alreadyReported) = withState { state -> (UInt64, Bool) in
            let reported = state.seen == fingerprint && state.seenContentHash == hash
            state.seen = fingerprint
            state.seenContentHash = hash
            state.missingReported = false
            if !reported { state.rejections += 1 }
            return (state.current?.version ?? 0, reported)
        }
        guard forced || !alreadyReported else { return }
        logger.error(
            "registry rejected, keeping snapshot version \(version): \(error)",
            metadata: [
                "file": "\(error.file)",
                "line": "\(error.line.map(String.init) ?? "-")",
                "column": "\(error.column.map(String.init) ?? "-")",
                "field": "\(error.field)",
            ]
        )
    }
}
