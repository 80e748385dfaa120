#ifndef SCDNS_CSOCKETBATCH_H
#define SCDNS_CSOCKETBATCH_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <sys/uio.h>

/* sys/timerfd.h is outside Swift's Glibc module too; including it here exposes timerfd_create and
   timerfd_settime to Swift (the open loop of `scdns qps` paces its sends with a timerfd). */

/// One datagram slot of a batch: a buffer, its length (in: capacity, out: bytes received or to send), and
/// the peer's address.
typedef struct scdns_datagram {
    void *buffer;
    size_t length;
    struct sockaddr_storage address;
    socklen_t address_length;
} scdns_datagram;

/// recvmmsg(2) over `count` slots; returns the number received (>= 0) or -1 with errno set.
int scdns_recv_batch(int fd, scdns_datagram *slots, unsigned int count, int flags);

/// sendmmsg(2) over `count` slots; returns the number sent (>= 0) or -1 with errno set.
int scdns_send_batch(int fd, scdns_datagram *slots, unsigned int count, int flags);

/// A receiver for one thread's socket loop: the mmsghdr and iovec arrays of recvmmsg built once, over slots
/// whose buffers stay put, so each call sets up nothing but the address lengths the kernel overwrites (the
/// per-call setup of `scdns_recv_batch` was most of its cost at small batches).
typedef struct scdns_receiver scdns_receiver;

/// A receiver over `count` slots (at most 256), each with its buffer and capacity (`length`) set; NULL when out of
/// memory. The slots must outlive it.
scdns_receiver *scdns_receiver_create(scdns_datagram *slots, unsigned int count);

void scdns_receiver_destroy(scdns_receiver *receiver);

/// recvmmsg(2) into the receiver's slots: for each datagram received, its slot's `length` and `address` are set
/// (the capacity is kept apart). Returns the number received (>= 0) or -1 with errno set.
int scdns_receiver_receive(scdns_receiver *receiver, int fd, int flags);

/// The CPUs this process may run on (sched_getaffinity(2), CPU_COUNT), or 0 when that cannot be read:
/// `workers: auto` runs no more threads than `taskset` or a cpuset leaves it.
int scdns_allowed_cpus(void);

/// Makes the calling thread `increment` nicer (setpriority(2) on its thread id): background work such as folding
/// a registry change into a full build yields the CPU to the threads answering queries and taking updates.
/// Returns 0, or -1 with errno set.
int scdns_lower_thread_priority(int increment);

/// Gives the memory malloc holds free back to the system (malloc_trim(3)): a full build of a large registry
/// frees hundreds of MiB of small temporaries that glibc would otherwise keep in the process for good.
void scdns_return_free_memory(void);

/// Maps every allocation of at least `threshold` bytes on its own (mallopt(3) M_MMAP_THRESHOLD), returned to the
/// system when freed. Set, the threshold stays where it is: glibc otherwise raises it to the size of each mapped
/// block freed (up to 32 MiB), so a build's later large temporaries come from the heap, and the live arrays
/// placed between them keep the heap's pages resident once they are freed. Returns 1 on success, 0 on failure.
int scdns_map_large_allocations(size_t threshold);

/// The bytes malloc's heaps hold, in use or free, outside the blocks it mapped on its own (mallinfo2(3)'s
/// `arena`, every arena's): no free space in a heap is larger.
size_t scdns_heap_bytes(void);

#endif
