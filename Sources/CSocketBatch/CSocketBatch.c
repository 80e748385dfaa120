// Glibc declares recvmmsg/sendmmsg only under _GNU_SOURCE, which Swift's Glibc module is not built with.
#define _GNU_SOURCE
#include "CSocketBatch.h"

#include <errno.h>
#include <malloc.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#define SCDNS_MAX_BATCH 256

static unsigned int clamp(unsigned int count) { return count > SCDNS_MAX_BATCH ? SCDNS_MAX_BATCH : count; }

int scdns_recv_batch(int fd, scdns_datagram *slots, unsigned int count, int flags) {
    struct mmsghdr messages[SCDNS_MAX_BATCH];
    struct iovec vectors[SCDNS_MAX_BATCH];
    count = clamp(count);
    memset(messages, 0, sizeof(struct mmsghdr) * count);
    for (unsigned int i = 0; i < count; i++) {
        vectors[i].iov_base = slots[i].buffer;
        vectors[i].iov_len = slots[i].length;
        messages[i].msg_hdr.msg_iov = &vectors[i];
        messages[i].msg_hdr.msg_iovlen = 1;
        messages[i].msg_hdr.msg_name = &slots[i].address;
        messages[i].msg_hdr.msg_namelen = sizeof(struct sockaddr_storage);
    }
    int received = recvmmsg(fd, messages, count, flags, NULL);
    for (int i = 0; i < received; i++) {
        slots[i].length = messages[i].msg_len;
        slots[i].address_length = messages[i].msg_hdr.msg_namelen;
    }
    return received;
}

int scdns_send_batch(int fd, scdns_datagram *slots, unsigned int count, int flags) {
    struct mmsghdr messages[SCDNS_MAX_BATCH];
    struct iovec vectors[SCDNS_MAX_BATCH];
    count = clamp(count);
    memset(messages, 0, sizeof(struct mmsghdr) * count);
    for (unsigned int i = 0; i < count; i++) {
        vectors[i].iov_base = slots[i].buffer;
        vectors[i].iov_len = slots[i].length;
        messages[i].msg_hdr.msg_iov = &vectors[i];
        messages[i].msg_hdr.msg_iovlen = 1;
        messages[i].msg_hdr.msg_name = slots[i].address_length > 0 ? &slots[i].address : NULL;
        messages[i].msg_hdr.msg_namelen = slots[i].address_length;
    }
    return sendmmsg(fd, messages, count, flags);
}

struct scdns_receiver {
    struct mmsghdr messages[SCDNS_MAX_BATCH];
    struct iovec vectors[SCDNS_MAX_BATCH];
    scdns_datagram *slots;
    unsigned int count;
};

scdns_receiver *scdns_receiver_create(scdns_datagram *slots, unsigned int count) {
    scdns_receiver *receiver = calloc(1, sizeof(scdns_receiver));
    if (receiver == NULL) return NULL;
    receiver->slots = slots;
    receiver->count = clamp(count);
    for (unsigned int i = 0; i < receiver->count; i++) {
        receiver->vectors[i].iov_base = slots[i].buffer;
        receiver->vectors[i].iov_len = slots[i].length;
        receiver->messages[i].msg_hdr.msg_iov = &receiver->vectors[i];
        receiver->messages[i].msg_hdr.msg_iovlen = 1;
        receiver->messages[i].msg_hdr.msg_name = &slots[i].address;
    }
    return receiver;
}

void scdns_receiver_destroy(scdns_receiver *receiver) { free(receiver); }

int scdns_receiver_receive(scdns_receiver *receiver, int fd, int flags) {
    for (unsigned int i = 0; i < receiver->count; i++) {
        receiver->messages[i].msg_hdr.msg_namelen = sizeof(struct sockaddr_storage);
    }
    int received = recvmmsg(fd, receiver->messages, receiver->count, flags, NULL);
    for (int i = 0; i < received; i++) {
        receiver->slots[i].length = receiver->messages[i].msg_len;
        receiver->slots[i].address_length = receiver->messages[i].msg_hdr.msg_namelen;
    }
    return received;
}

int scdns_allowed_cpus(void) {
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof(set), &set) != 0) return 0;
    return CPU_COUNT(&set);
}

int scdns_lower_thread_priority(int increment) {
    // On Linux a nice value belongs to the thread (setpriority with its thread id), not the process.
    pid_t thread = (pid_t)syscall(SYS_gettid);
    errno = 0;
    int current = getpriority(PRIO_PROCESS, (id_t)thread);
    if (current == -1 && errno != 0) return -1;
    return setpriority(PRIO_PROCESS, (id_t)thread, current + increment);
}

void scdns_return_free_memory(void) { malloc_trim(0); }

int scdns_map_large_allocations(size_t threshold) { return mallopt(M_MMAP_THRESHOLD, (int)threshold); }

size_t scdns_heap_bytes(void) { return mallinfo2().arena; }
