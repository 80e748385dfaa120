// Preloaded by bench/etcd-start.sh (MSTATS=1): on SIGUSR2, prints malloc's own count (mallinfo2) to stderr, so a
// figure can tell live bytes from freed memory malloc keeps. Nothing of scdns links it.
#include <malloc.h>
#include <signal.h>
#include <stdio.h>

static void on_usr2(int signal_number) {
    (void)signal_number;
    struct mallinfo2 info = mallinfo2();
    fprintf(stderr, "MSTATS arena=%zu inuse=%zu free=%zu mmap=%zu\n", info.arena, info.uordblks, info.fordblks,
            info.hblkhd);
}

__attribute__((constructor)) static void install(void) { signal(SIGUSR2, on_usr2); }
