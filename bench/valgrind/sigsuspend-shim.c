/*
 * LD_PRELOAD shim for running scdns under valgrind 3.19 (bench/run.sh, callgrind).
 *
 * Swift's async main ends in dispatch_main(), whose main thread waits in sigsuspend() with a signal mask that
 * lives in libdispatch's read-only data. valgrind 3.19 writes to that mask while handling rt_sigsuspend and dies
 * with SIGSEGV on the read-only page ("VALGRIND INTERNAL ERROR ... signal 11", SEGV_ACCERR at the mask).
 * This sigsuspend copies the mask to the stack first; the behaviour is otherwise libc's. Bench only: scdns
 * itself never loads it.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

int sigsuspend(const sigset_t *mask) {
    sigset_t copy = *mask;
    return (int)syscall(SYS_rt_sigsuspend, &copy, (size_t)(_NSIG / 8));
}
