import CSocketBatch  // timerfd_create and timerfd_settime: its header includes sys/timerfd.h
import Glibc

/// CLOCK_MONOTONIC in nanoseconds (a vDSO call, no system call).
enum MonotonicClock {
    @inline(__always)
    static func now() -> UInt64 {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return UInt64(time.tv_sec) &* 1_000_000_000 &+ UInt64(time.tv_nsec)
    }

    /// Sleeps until `deadline` (CLOCK_MONOTONIC nanoseconds) or returns at once if it has passed.
    static func sleep(until deadline: UInt64) {
        var time = timespec(tv_sec: Int(deadline / 1_000_000_000), tv_nsec: Int(deadline % 1_000_000_000))
        while clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &time, nil) == EINTR {}
    }
}

extension MonotonicClock {
    /// A periodic timerfd that paces the open loop: it becomes readable at each tick, so one poll waits for
    /// either the next send time or an answer, with nanosecond timing (poll's own timeout has only milliseconds).
    final class Ticker {
        let descriptor: Int32

        /// A timer first firing at `first` (CLOCK_MONOTONIC nanoseconds), then every `interval` nanoseconds.
        init(first: UInt64, interval: UInt64) throws(LoadGenError) {
            descriptor = timerfd_create(CLOCK_MONOTONIC, Int32(TFD_NONBLOCK) | Int32(TFD_CLOEXEC))
            guard descriptor >= 0 else { throw .system("timerfd_create", errno) }
            arm(first: first, interval: interval)
        }

        deinit { close(descriptor) }

        /// Restarts the ticks at `first`.
        func arm(first: UInt64, interval: UInt64) {
            var specification = itimerspec(
                it_interval: Self.timespec(interval), it_value: Self.timespec(max(first, 1)))
            timerfd_settime(descriptor, Int32(TFD_TIMER_ABSTIME), &specification, nil)
        }

        /// Clears the readable state after a tick.
        func acknowledge() {
            var expirations: UInt64 = 0
            _ = read(descriptor, &expirations, MemoryLayout<UInt64>.size)
        }

        private static func timespec(_ nanoseconds: UInt64) -> Glibc.timespec {
            Glibc.timespec(tv_sec: Int(nanoseconds / 1_000_000_000), tv_nsec: Int(nanoseconds % 1_000_000_000))
        }
    }
}
