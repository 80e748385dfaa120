// The etcd registry's figures (issue 7), driven by bench/etcd.sh against a real etcd and a release scdns:
//
//   EtcdBench load    ETCD SERVICES CLUSTERS BATCH   writes SERVICES x CLUSTERS exports (namespace bench,
//                                                   services s0..., clusters c0...) in transactions of BATCH
//   EtcdBench latency ETCD DNS_PORT UPDATES          UPDATES times: put a new address for bench/probe/c0, then
//                                                   query scdns until it answers it; prints put and put-to-
//                                                   answer latency percentiles
//
// put-to-answer is timed from just before the put is sent to the first answer that carries the new address,
// so it includes etcd's commit (also printed on its own), the watch, the snapshot and answer rebuild, and one
// query round trip. Queries are 200 µs apart (each also waits for its answer, ~30-60 µs on loopback).
// answer-after-put is timed from the put's reply to that answer: scdns's part without etcd's commit (0 when
// the watch delivered the change before the put's reply reached this client).
import DNSWire
import Foundation
import Logging
import RegistryEtcd

#if canImport(Glibc)
import Glibc
#endif

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data(("EtcdBench: " + message + "\n").utf8))
    exit(2)
}

func export(service: String, cluster: Int, address: String) -> String {
    #"{"name":"\#(service)","namespace":"bench","ports":[{"name":"http","port":80,"protocol":"TCP"}],"#
        + #""cluster":"c\#(cluster)","region":"r\#(cluster % 2)","zone":"r\#(cluster % 2)-z\#(cluster)","#
        + #""addresses":["\#(address)"],"weight":100}"#
}

func address(_ index: Int, cluster: Int) -> String {
    "10.\(100 + cluster).\(index / 250 % 250).\(index % 250 + 1)"
}

let layout = RegistryKeyLayout()
let arguments = Array(CommandLine.arguments.dropFirst())
guard arguments.count >= 2 else { fail("usage: EtcdBench load|latency ETCD ...") }
let client: EtcdClient
do {
    client = try EtcdClient(endpoints: [arguments[1]], callTimeout: .seconds(30), logger: Logger(label: "bench"))
} catch {
    fail("\(error)")
}

switch arguments[0] {
case "load":
    guard arguments.count == 5, let services = Int(arguments[2]), let clusters = Int(arguments[3]),
        let batch = Int(arguments[4])
    else { fail("usage: EtcdBench load ETCD SERVICES CLUSTERS BATCH") }
    let start = ContinuousClock.now
    var operations: [EtcdOperation] = []
    var written = 0
    for index in 0..<services {
        for cluster in 0..<clusters {
            operations.append(
                .put(
                    key: layout.key(namespace: "bench", name: "s\(index)", cluster: "c\(cluster)"),
                    value: export(service: "s\(index)", cluster: cluster, address: address(index, cluster: cluster)),
                    lease: 0))
            if operations.count == batch {
                try await client.transaction(operations)
                written += operations.count
                operations.removeAll(keepingCapacity: true)
            }
        }
    }
    if !operations.isEmpty {
        try await client.transaction(operations)
        written += operations.count
    }
    let revision = try await client.currentRevision()
    print("loaded \(written) exports in \(ContinuousClock.now - start), revision \(revision)")

case "latency":
    guard arguments.count == 4, let port = UInt16(arguments[2]), let updates = Int(arguments[3]) else {
        fail("usage: EtcdBench latency ETCD DNS_PORT UPDATES")
    }
    let socket = UDPSocket(port: port)
    let name = try DNSName("probe.bench.svc.supercluster.local")
    let key = layout.key(namespace: "bench", name: "probe", cluster: "c0")
    var putLatencies: [Duration] = []
    var answerLatencies: [Duration] = []
    var afterPutLatencies: [Duration] = []
    var queries = 0
    for update in 0..<updates {
        let expected = "10.250.\(update / 250 % 250).\(update % 250 + 1)"
        let start = ContinuousClock.now
        try await client.put(key, value: export(service: "probe", cluster: 0, address: expected))
        let put = ContinuousClock.now
        putLatencies.append(put - start)
        let deadline = start + .seconds(30)
        var id: UInt16 = 0
        while true {
            id &+= 1
            queries += 1
            let query = Message(header: Header(id: id), questions: [Question(name: name, type: .a)]).serialized()
            if let reply = socket.exchange(query),
                let message = try? Message(parsing: reply), message.header.id == id,
                message.answers.contains(where: { "\($0.data)" == expected })
            {
                let answered = ContinuousClock.now
                answerLatencies.append(answered - start)
                afterPutLatencies.append(answered - put)
                break
            }
            if ContinuousClock.now > deadline { fail("update \(update): \(expected) never answered") }
            // Polling in a tight loop would take a core from the server while it rebuilds; 200 µs between
            // queries keeps the resolution well under the latencies measured.
            usleep(200)
        }
    }
    func percentile(_ values: [Duration], _ fraction: Double) -> String {
        let sorted = values.sorted()
        let index = min(sorted.count - 1, Int((Double(sorted.count) * fraction).rounded(.up)) - 1)
        let value = sorted[max(0, index)]
        let (seconds, attoseconds) = value.components
        return String(format: "%.2f ms", Double(seconds) * 1000 + Double(attoseconds) / 1e15)
    }
    print("updates \(updates), queries \(queries)")
    for (label, values) in [
        ("put", putLatencies), ("put-to-answer", answerLatencies), ("answer-after-put", afterPutLatencies),
    ] {
        print(
            "\(label): p50 \(percentile(values, 0.5))  p90 \(percentile(values, 0.9))  p99 \(percentile(values, 0.99))"
                + "  max \(percentile(values, 1))")
    }

default:
    fail("unknown mode \(arguments[0])")
}

/// A connected UDP socket to 127.0.0.1:PORT with a 1-second receive timeout.
struct UDPSocket {
    let fd: Int32

    init(port: UInt16) {
        fd = Glibc.socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        var timeout = timeval(tv_sec: 1, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        if connected != 0 { fail("cannot connect to 127.0.0.1:\(port)") }
    }

    func exchange(_ query: [UInt8]) -> [UInt8]? {
        guard send(fd, query, query.count, 0) == query.count else { return nil }
        var buffer = [UInt8](repeating: 0, count: 1500)
        let received = recv(fd, &buffer, buffer.count, 0)
        return received > 0 ? Array(buffer[0..<received]) : nil
    }
}
