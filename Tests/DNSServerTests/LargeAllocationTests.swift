import CSocketBatch
import Glibc
import XCTest

/// `scdns_map_large_allocations` keeps the size from which glibc maps a block on its own: freeing a big mapped
/// block no longer raises it (glibc's own rule), so a block the heap has no room for is mapped rather than the
/// heap grown for it, even after a bigger one was freed.
final class LargeAllocationTests: XCTestCase {
    /// Whether glibc mapped `block` on its own: the IS_MMAPPED bit (2) of the size word in front of the block,
    /// glibc's chunk layout since its first ptmalloc.
    func isMapped(_ block: UnsafeMutableRawPointer) -> Bool {
        block.load(fromByteOffset: -8, as: UInt64.self) & 2 != 0
    }

    func testABlockTheHeapHasNoRoomForIsMappedAfterABiggerOneWasFreed() throws {
        XCTAssertEqual(scdns_map_large_allocations(128 * 1024), 1)
        let big = try XCTUnwrap(malloc(16 << 20))
        XCTAssertTrue(isMapped(big))
        memset(big, 1, 16 << 20)
        // glibc alone would now map nothing under 16 MiB.
        free(big)
        // Larger than all the heap holds (every arena's), so no free space there fits it: a process with a small
        // heap (as a test run alone has) asks for less than 16 MiB here.
        let size = scdns_heap_bytes() + (1 << 20)
        let block = try XCTUnwrap(malloc(size))
        defer { free(block) }
        XCTAssertTrue(isMapped(block), "\(size) octets are mapped on their own, the heap not grown for them")
        let small = try XCTUnwrap(malloc(4096))
        defer { free(small) }
        XCTAssertFalse(isMapped(small), "below the threshold, blocks come from the heap")
    }
}
