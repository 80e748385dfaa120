extension Array where Element == UInt8 {
    /// `count` octets (at least one), every one of them written by `write`, as an array.
    ///
    /// Why not `Array(unsafeUninitializedCapacity:initializingWith:)`: it allocates through a standard-library
    /// function that is not specialized, which looks up `_ContiguousArrayStorage<UInt8>`'s metadata in the
    /// runtime's locked cache on every call: about 560 instructions an array, a tenth of compiling a registry's
    /// answers, where names and templates are made by the hundred thousand (BENCHMARKS.md). Writing into a
    /// temporary buffer (on the stack when small) and copying it into an array, whose allocation here is
    /// specialized, costs a copy of a few dozen octets instead.
    @inlinable
    static func written(count: Int, by write: (UnsafeMutableRawBufferPointer) -> Void) -> [UInt8] {
        precondition(count > 0, "an array of octets to write")
        return withUnsafeTemporaryAllocation(byteCount: count, alignment: 1) { buffer in
            write(buffer)
            return [UInt8](UnsafeRawBufferPointer(buffer))
        }
    }
}
