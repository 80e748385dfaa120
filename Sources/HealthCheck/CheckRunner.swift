import Foundation
import ServiceRegistry

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Runs a batch of checks with plain non-blocking sockets and one `poll` loop on a thread of its own.
///
/// Why not NIO: a probe is a connect and a close. Through a channel bootstrap and a task per probe that cost
/// about 580 microseconds of CPU each (bench/probes.sh, BENCHMARKS.md); here it is a handful of system calls:
/// socket, connect, a share of one poll, getsockopt, close. Connections close with a reset (`SO_LINGER` 0), so
/// thousands of probes leave no TIME_WAIT sockets behind on this side.
public enum CheckRunner {
    /// Runs each of `checks` once within `cycle`, each given `timeout` to complete; returns the outcomes, each
    /// with when it was known, in the order of `checks` once the last is in. The checks start spread evenly with
    /// jitter (so that instances and targets do not probe in lockstep) over all of the cycle but its timeout, so
    /// the last is done when the cycle ends and a caller's next cycle starts on time: a target that drops SYNs
    /// is found down in `fall` cycles, not `fall` cycles each stretched by a timeout. Cancelling the calling
    /// task ends the batch at once (the unfinished checks are `.down("cancelled")`).
    public static func run(
        _ checks: [HealthCheck], within cycle: Duration, timeout: Duration
    ) async
        -> [CheckResult]
    {
        guard !checks.isEmpty else { return [] }
        let start = monotonicNanoseconds()
        let spread = cycle > timeout ? cycle - timeout : .zero
        let spacing = nanoseconds(spread) / UInt64(checks.count)
        let starts = (0..<checks.count).map { index in
            start + spacing * UInt64(index) + (spacing > 0 ? UInt64.random(in: 0..<spacing) : 0)
        }
        guard let wake = WakePipe() else {
            let failed = CheckResult(outcome: .down("no pipe: \(String(cString: strerror(errno)))"), at: Date())
            return Array(repeating: failed, count: checks.count)
        }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let thread = Thread {
                    var batch = Batch(checks: checks, starts: starts, timeout: nanoseconds(timeout), wake: wake)
                    continuation.resume(returning: batch.run())
                }
                thread.name = "scdns-health-checks"
                thread.start()
            }
        } onCancel: {
            wake.signal()
        }
    }
}

/// A pipe whose write end wakes the batch's poll: how a cancelled task stops it.
private final class WakePipe: Sendable {
    let readEnd: Int32
    let writeEnd: Int32

    init?() {
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { return nil }
        readEnd = fds[0]
        writeEnd = fds[1]
    }

    func signal() {
        var byte: UInt8 = 1
        _ = write(writeEnd, &byte, 1)
    }

    deinit {
        close(readEnd)
        close(writeEnd)
    }
}

/// The checks of one `CheckRunner.run`, on its thread.
private struct Batch {
    enum Phase {
        case connecting
        /// An HTTP check: the request, and how much of it is written.
        case sending(written: Int)
        /// An HTTP check: the response so far.
        case reading([UInt8])
    }

    struct InFlight {
        var socket: Int32
        var deadline: UInt64
        var phase: Phase
    }

    let checks: [HealthCheck]
    let starts: [UInt64]
    let timeout: UInt64
    let wake: WakePipe
    var outcomes: [CheckResult?]
    var inFlight: [Int: InFlight] = [:]

    init(checks: [HealthCheck], starts: [UInt64], timeout: UInt64, wake: WakePipe) {
        self.checks = checks
        self.starts = starts
        self.timeout = timeout
        self.wake = wake
        self.outcomes = Array(repeating: nil, count: checks.count)
    }

    mutating func run() -> [CheckResult] {
        var next = 0
        var pollSet: [pollfd] = []
        var indices: [Int] = []
        while next < checks.count || !inFlight.isEmpty {
            var now = monotonicNanoseconds()
            while next < checks.count, starts[next] <= now {
                start(next, now: now)
                next += 1
            }
            now = monotonicNanoseconds()
            for (index, probe) in inFlight where probe.deadline <= now {
                finish(index, .down("timed out"))
            }
            if next == checks.count && inFlight.isEmpty { break }
            // The earliest of the next start and the in-flight deadlines bounds the wait.
            var until = next < checks.count ? starts[next] : UInt64.max
            pollSet.removeAll(keepingCapacity: true)
            indices.removeAll(keepingCapacity: true)
            pollSet.append(pollfd(fd: wake.readEnd, events: Int16(POLLIN), revents: 0))
            for (index, probe) in inFlight {
                until = min(until, probe.deadline)
                let events: Int32 = if case .reading = probe.phase { Int32(POLLIN) } else { Int32(POLLOUT) }
                pollSet.append(pollfd(fd: probe.socket, events: Int16(events), revents: 0))
                indices.append(index)
            }
            let waitMilliseconds = until > now ? Int32(min((until - now + 999_999) / 1_000_000, 60_000)) : 0
            let ready = poll(&pollSet, nfds_t(pollSet.count), waitMilliseconds)
            if ready < 0 {
                if errno == EINTR { continue }
                for index in Array(inFlight.keys) { finish(index, .down("poll: \(String(cString: strerror(errno)))")) }
                break
            }
            if pollSet[0].revents != 0 {
                for index in Array(inFlight.keys) { finish(index, .down("cancelled")) }
                break
            }
            for (slot, index) in indices.enumerated() where pollSet[slot + 1].revents != 0 {
                advance(index)
            }
        }
        return outcomes.map { $0 ?? CheckResult(outcome: .down("cancelled"), at: Date()) }
    }

    /// Opens check `index`'s socket and starts its connect.
    mutating func start(_ index: Int, now: UInt64) {
        let check = checks[index]
        let family = check.address.isIPv4 ? AF_INET : AF_INET6
        let socketType = Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
        let descriptor = socket(family, socketType, Int32(IPPROTO_TCP))
        guard descriptor >= 0 else {
            outcomes[index] = CheckResult(outcome: .down("socket: \(String(cString: strerror(errno)))"), at: Date())
            return
        }
        // Close with a reset: no TIME_WAIT left on this side for each probe.
        var noLinger = linger(l_onoff: 1, l_linger: 0)
        _ = setsockopt(descriptor, SOL_SOCKET, SO_LINGER, &noLinger, socklen_t(MemoryLayout<linger>.size))
        let result = withSocketAddress(check) { address, length in connect(descriptor, address, length) }
        let error = errno
        inFlight[index] = InFlight(socket: descriptor, deadline: now + timeout, phase: .connecting)
        if result == 0 {
            connected(index)
        } else if error != EINPROGRESS {
            finish(index, .down(Self.reason(error)))
        }
    }

    /// Moves check `index` on after its socket became ready.
    mutating func advance(_ index: Int) {
        guard let probe = inFlight[index] else { return }
        switch probe.phase {
        case .connecting:
            var error: Int32 = 0
            var length = socklen_t(MemoryLayout<Int32>.size)
            guard getsockopt(probe.socket, SOL_SOCKET, SO_ERROR, &error, &length) == 0 else {
                finish(index, .down(Self.reason(errno)))
                return
            }
            guard error == 0 else {
                finish(index, .down(Self.reason(error)))
                return
            }
            connected(index)
        case .sending(let written):
            send(index, from: written)
        case .reading(var response):
            var buffer = [UInt8](repeating: 0, count: 512)
            let count = read(probe.socket, &buffer, buffer.count)
            if count < 0 {
                if errno != EAGAIN && errno != EINTR { finish(index, .down(Self.reason(errno))) }
                return
            }
            response += buffer.prefix(count)
            if let outcome = Self.httpOutcome(response, ended: count == 0) {
                finish(index, outcome)
            } else {
                inFlight[index]?.phase = .reading(response)
            }
        }
    }

    /// Check `index` is connected: a TCP check is done, an HTTP check sends its request.
    mutating func connected(_ index: Int) {
        guard case .http = checks[index].kind else {
            finish(index, .up)
            return
        }
        send(index, from: 0)
    }

    mutating func send(_ index: Int, from offset: Int) {
        guard let probe = inFlight[index], case .http(let path) = checks[index].kind else { return }
        let request = Array(
            "GET \(path) HTTP/1.0\r\nHost: \(checks[index].hostPort)\r\nUser-Agent: scdns-health-check\r\n\r\n".utf8)
        // send, not write: a peer that closed first must give EPIPE, not a SIGPIPE that ends the process.
        let count = request.withUnsafeBytes { bytes in
            Glibc.send(probe.socket, bytes.baseAddress! + offset, bytes.count - offset, Int32(MSG_NOSIGNAL))
        }
        if count < 0 {
            if errno != EAGAIN && errno != EINTR { finish(index, .down(Self.reason(errno))) }
            return
        }
        inFlight[index]?.phase = offset + count == request.count ? .reading([]) : .sending(written: offset + count)
    }

    mutating func finish(_ index: Int, _ outcome: CheckOutcome) {
        if let probe = inFlight.removeValue(forKey: index) { close(probe.socket) }
        outcomes[index] = CheckResult(outcome: outcome, at: Date())
    }

    /// The verdict of an HTTP response so far: nil until its status line is complete (or the peer closed).
    static func httpOutcome(_ response: [UInt8], ended: Bool) -> CheckOutcome? {
        guard let lineEnd = response.firstIndex(of: UInt8(ascii: "\n")) else {
            guard ended || response.count >= 512 else { return nil }
            return .down(response.isEmpty ? "closed without an HTTP response" : "not an HTTP response")
        }
        // "HTTP/1.1 200 OK": the three digits after the first space.
        let line = response[..<lineEnd]
        guard line.starts(with: Array("HTTP/".utf8)), let space = line.firstIndex(of: UInt8(ascii: " ")),
            space + 4 <= line.endIndex,
            let status = Int(String(decoding: line[(space + 1)..<(space + 4)], as: UTF8.self))
        else { return .down("not an HTTP response") }
        return (200..<400).contains(status) ? .up : .down("HTTP \(status)")
    }

    static func reason(_ code: Int32) -> String {
        switch code {
        case ECONNREFUSED: "connection refused"
        case ETIMEDOUT: "timed out"
        case EHOSTUNREACH, ENETUNREACH: "unreachable"
        default: String(cString: strerror(code))
        }
    }
}

/// Calls `body` with `check`'s address as a sockaddr.
private func withSocketAddress<Result>(
    _ check: HealthCheck, _ body: (UnsafePointer<sockaddr>, socklen_t) -> Result
) -> Result {
    let bytes = check.address.bytes
    if check.address.isIPv4 {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = check.port.bigEndian
        withUnsafeMutableBytes(of: &address.sin_addr) { $0.copyBytes(from: bytes) }
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
    }
    var address = sockaddr_in6()
    address.sin6_family = sa_family_t(AF_INET6)
    address.sin6_port = check.port.bigEndian
    withUnsafeMutableBytes(of: &address.sin6_addr) { $0.copyBytes(from: bytes) }
    return withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_in6>.size)) }
    }
}

private func monotonicNanoseconds() -> UInt64 {
    var time = timespec()
    clock_gettime(CLOCK_MONOTONIC, &time)
    return UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec)
}

private func nanoseconds(_ duration: Duration) -> UInt64 {
    let (seconds, attoseconds) = duration.components
    return UInt64(max(0, seconds)) * 1_000_000_000 + UInt64(max(0, attoseconds) / 1_000_000_000)
}
