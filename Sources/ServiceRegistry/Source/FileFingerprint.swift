#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// What identifies one version of a file without reading it: device, inode, size and modification time in
/// nanoseconds.
///
/// The inode matters because editors and `kubectl cp`-style tools write a new file and rename it over the old
/// one: the size and even the second-resolution mtime may not change, but the inode does. The nanosecond mtime
/// catches in-place rewrites within the same second.
struct FileFingerprint: Hashable, Sendable {
    var device: UInt64
    var inode: UInt64
    var size: Int64
    var modifiedNanoseconds: Int64

    /// `nil` when the file cannot be stat'ed (missing, no permission); `errno` is left for the caller.
    static func of(path: String) -> FileFingerprint? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        #if canImport(Darwin)
        let modified = info.st_mtimespec
        #else
        let modified = info.st_mtim
        #endif
        return FileFingerprint(
            device: UInt64(truncatingIfNeeded: info.st_dev),
            inode: UInt64(truncatingIfNeeded: info.st_ino),
            size: Int64(info.st_size),
            modifiedNanoseconds: Int64(modified.tv_sec) * 1_000_000_000 + Int64(modified.tv_nsec)
        )
    }
}
