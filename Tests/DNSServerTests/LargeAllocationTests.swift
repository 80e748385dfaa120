import CSocketBatch
import Glibc
import XCTest

/// `scdns_map_large_allocations` keeps the size from which glibc maps a block on its own: freeing a big mapped
/// block no longer raises it (glibc's own rule), so a block of 1 MiB allocated after a 16 MiB one was freed is
/// still mapped, not carved from the heap.
final class LargeAllocationTests: XCTestCase {
    /// Whether glibc mapped `block` on its own: the IS_MMAPPED bit (2) of the size word in front of the block,
    /// glibc's chunk layout since its first ptmalloc.
    func isMapped(_ block: UnsafeMutableRawPointer) -> Bool {
        block.load(fromByteOffset: -8, as: UInt64.self) & 2 != 0
    }

    func testABlockPastTheThresholdIsMappedAfterABiggerOneWasFreed() throws {
        XCTAssertEqual(scdns_map_large_allocations(128 * 1024), 1)
        let big = try XCTUnwrap(malloc(16 << 20))
        XCTAssertTrue(isMapped(big))
        memset(big, 1, 16 << 20)
        free(big)
        let block = try XCTUnwrap(malloc(1 << 20))
        defer { free(block) }
        XCTAssertTrue(isMapped(block), "a 1 MiB block is mapped on its own")
        let small = try XCTUnwrap(malloc(4096))
        defer { free(small) }
        XCTAssertFalse(isMapped(small), "below the threshold, blocks come from the heap")
    }
}
