/// A flat export (DESIGN.md section 2, etcd) read straight from its JSON text into its `Service`, with no document
/// in between: what every instance does for each of a registry's exports when it lists etcd (300,000 at 100,000
/// services), where building the document and walking it was 92,500 instructions an export against 9,900 now
/// (bench/etcd-callgrind.sh, BENCHMARKS.md).
///
/// It reads only what a publisher writes, and only what is valid: a one-line JSON object of the export's keys,
/// each once, strings without escapes, whole numbers, `true` and `false`, addresses and ports, no endpoints, and
/// spaces where `JSONNodeReader` takes them. Anything else (null, an escape, a Headless export's endpoints, any
/// value that fails a check) gives nil, and `RegistryDecoder.decodeExport` takes the general path, which reads
/// everything and words every error. So this reader needs no errors of its own; what it must never do is read a
/// text differently from the general path, and `FlatExportReaderTests` holds the two to each other on many
/// exports, valid and not.
enum FlatExportReader {
    /// The export `text` holds, or nil when the general path must read it.
    static func read(_ text: String) -> Service? {
        var text = text
        return text.withUTF8 { bytes in
            var reader = Reader(bytes: bytes)
            return reader.export()
        }
    }

    /// The keys of a flat export (`ExportDecoder.flatEntry`'s), each a bit in the set of keys seen.
    private enum Key: UInt16 {
        case name = 1
        case namespace = 2
        case type = 4
        case vip = 8
        case ports = 16
        case cluster = 32
        case region = 64
        case zone = 128
        case addresses = 256
        case weight = 512
        case healthy = 1024
    }

    private struct Reader {
        let bytes: UnsafeBufferPointer<UInt8>
        var position = 0

        init(bytes: UnsafeBufferPointer<UInt8>) {
            self.bytes = bytes
        }

        var peek: UInt8? { position < bytes.count ? bytes[position] : nil }

        mutating func skipSpace() {
            while peek == UInt8(ascii: " ") { position += 1 }
        }

        mutating func take(_ byte: UInt8) -> Bool {
            guard peek == byte else { return false }
            position += 1
            return true
        }

        mutating func export() -> Service? {
            skipSpace()
            guard take(UInt8(ascii: "{")) else { return nil }
            var seen: UInt16 = 0
            var name: String? = nil
            var namespace: String? = nil
            var cluster: String? = nil
            var type = ServiceType.clusterSetIP
            var vip: IPAddress? = nil
            var ports: [ServicePort] = []
            var region = ""
            var zone = ""
            var addresses: [IPAddress]? = nil
            var weight = ClusterExport.defaultWeight
            var healthy = true
            repeat {
                skipSpace()
                // A key, straight before its colon (JSONNodeReader's rule), then its value after any spaces.
                guard let key = key(), seen & key.rawValue == 0, take(UInt8(ascii: ":")) else { return nil }
                seen |= key.rawValue
                skipSpace()
                switch key {
                case .name:
                    guard let text = string(), DNSLabel.problem(with: text) == nil else { return nil }
                    name = text
                case .namespace:
                    guard let text = string(), DNSLabel.problem(with: text) == nil else { return nil }
                    namespace = text
                case .cluster:
                    guard let text = string(), DNSLabel.problem(with: text) == nil else { return nil }
                    cluster = text
                case .type:
                    guard let text = string(), let value = ServiceType(rawValue: text) else { return nil }
                    type = value
                case .vip:
                    guard let address = address() else { return nil }
                    vip = address
                case .ports:
                    guard let value = portList() else { return nil }
                    ports = value
                case .region:
                    guard let text = string(), DNSLabel.isTopologyValue(text) else { return nil }
                    region = text
                case .zone:
                    guard let text = string(), DNSLabel.isTopologyValue(text) else { return nil }
                    zone = text
                case .addresses:
                    guard let value = addressList() else { return nil }
                    addresses = value
                case .weight:
                    guard let value = number(), let exact = UInt32(exactly: value),
                        ClusterExport.weightRange.contains(exact)
                    else { return nil }
                    weight = exact
                case .healthy:
                    guard let value = boolean() else { return nil }
                    healthy = value
                }
                skipSpace()
            } while take(UInt8(ascii: ","))
            guard take(UInt8(ascii: "}")) else { return nil }
            skipSpace()
            _ = take(UInt8(ascii: "\n"))
            guard position == bytes.count, let name, let namespace, let cluster else { return nil }
            // What `ExportDecoder` refuses of the keys together: a Headless service's vip or addresses.
            guard type == .clusterSetIP || (vip == nil && addresses == nil) else { return nil }
            return Service(
                name: name, namespace: namespace, type: type, vip: vip, ports: ports,
                clusters: [
                    ClusterExport(
                        locality: Locality(cluster: cluster, region: region, zone: zone),
                        addresses: addresses ?? [], weight: weight, healthy: healthy)
                ])
        }

        /// A quoted key, one of the export's.
        mutating func key() -> Key? {
            guard let range = quoted() else { return nil }
            func `is`(_ word: StaticString) -> Bool { matches(range, word) }
            switch range.count {
            case 3: return `is`("vip") ? .vip : nil
            case 4: return `is`("name") ? .name : `is`("type") ? .type : `is`("zone") ? .zone : nil
            case 5: return `is`("ports") ? .ports : nil
            case 6: return `is`("region") ? .region : `is`("weight") ? .weight : nil
            case 7: return `is`("cluster") ? .cluster : `is`("healthy") ? .healthy : nil
            case 9: return `is`("namespace") ? .namespace : `is`("addresses") ? .addresses : nil
            default: return nil
            }
        }

        /// Whether the octets in `range` are `word`'s.
        func matches(_ range: Range<Int>, _ word: StaticString) -> Bool {
            guard word.utf8CodeUnitCount == range.count else { return false }
            let letters = word.utf8Start
            for offset in 0..<range.count where bytes[range.lowerBound + offset] != letters[offset] { return false }
            return true
        }

        /// The octets between a pair of quotes, the opening one at `position`: printable ASCII and no escape.
        mutating func quoted() -> Range<Int>? {
            guard take(UInt8(ascii: "\"")) else { return nil }
            let start = position
            while let byte = peek {
                if byte == UInt8(ascii: "\"") {
                    position += 1
                    return start..<(position - 1)
                }
                guard byte >= 0x20, byte < 0x7F, byte != UInt8(ascii: "\\") else { return nil }
                position += 1
            }
            return nil
        }

        mutating func string() -> String? {
            quoted().map { String(decoding: UnsafeBufferPointer(rebasing: bytes[$0]), as: UTF8.self) }
        }

        /// An address as `YAMLField.ipAddress` takes it, from a string.
        mutating func address() -> IPAddress? {
            guard let text = string(), let address = IPAddress(text), !address.isIPv4Mapped else { return nil }
            return address
        }

        /// What a plain scalar may be followed by (JSONNodeReader's rule: `12abc` is one scalar in YAML).
        func endsScalar() -> Bool {
            guard let byte = peek else { return true }
            return byte == UInt8(ascii: ",") || byte == UInt8(ascii: "}") || byte == UInt8(ascii: "]")
                || byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\n")
        }

        /// A whole number of at most 9 digits, no sign, no leading zero: what YAML and JSON both read as that
        /// integer.
        mutating func number() -> Int? {
            var value = 0
            let start = position
            while let byte = peek, byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9"), position - start < 9 {
                value = value * 10 + Int(byte - UInt8(ascii: "0"))
                position += 1
            }
            guard position > start, bytes[start] != UInt8(ascii: "0") || position - start == 1, endsScalar() else {
                return nil
            }
            return value
        }

        mutating func boolean() -> Bool? {
            for (word, value) in [("true", true), ("false", false)] {
                let count = word.utf8.count
                guard position + count <= bytes.count,
                    word.utf8.elementsEqual(UnsafeBufferPointer(rebasing: bytes[position..<(position + count)]))
                else { continue }
                position += count
                return endsScalar() ? value : nil
            }
            return nil
        }

        /// `[ELEMENT, ...]`, spaces as JSONNodeReader takes them.
        mutating func list(_ element: (inout Reader) -> Bool) -> Bool {
            guard take(UInt8(ascii: "[")) else { return false }
            skipSpace()
            if take(UInt8(ascii: "]")) { return true }
            repeat {
                skipSpace()
                guard element(&self) else { return false }
                skipSpace()
            } while take(UInt8(ascii: ","))
            return take(UInt8(ascii: "]"))
        }

        /// Addresses, none twice (`ClusterDecoder.addresses`); a long list is left to the general path, which
        /// checks it through a set.
        mutating func addressList() -> [IPAddress]? {
            var addresses: [IPAddress] = []
            let complete = list { reader in
                guard addresses.count < 16, let address = reader.address(), !addresses.contains(address) else {
                    return false
                }
                addresses.append(address)
                return true
            }
            return complete ? addresses : nil
        }

        /// Ports as `ExportDecoder.ports` takes them: a port name once, a port (name, number, protocol) once.
        mutating func portList() -> [ServicePort]? {
            var ports: [ServicePort] = []
            let complete = list { reader in
                guard let port = reader.port(), !ports.contains(port),
                    port.name == nil || !ports.contains(where: { $0.name == port.name })
                else { return false }
                ports.append(port)
                return true
            }
            return complete ? ports : nil
        }

        /// `{"name": NAME, "port": NUMBER, "protocol": PROTOCOL}`, the name and protocol optional.
        mutating func port() -> ServicePort? {
            guard take(UInt8(ascii: "{")) else { return nil }
            var name: String? = nil
            var number: UInt16? = nil
            var portProtocol = PortProtocol.tcp
            var seen = 0
            repeat {
                skipSpace()
                guard let range = quoted(), take(UInt8(ascii: ":")) else { return nil }
                let key = matches(range, "name") ? 1 : matches(range, "port") ? 2 : matches(range, "protocol") ? 4 : 0
                skipSpace()
                switch key {
                case 1 where seen & 1 == 0:
                    guard let text = string(), DNSLabel.portNameProblem(with: text) == nil else { return nil }
                    name = text
                    seen |= 1
                case 2 where seen & 2 == 0:
                    guard let value = self.number(), let exact = UInt16(exactly: value), exact >= 1 else { return nil }
                    number = exact
                    seen |= 2
                case 4 where seen & 4 == 0:
                    guard let text = string(), let value = PortProtocol(rawValue: text) else { return nil }
                    portProtocol = value
                    seen |= 4
                default:
                    return nil
                }
                skipSpace()
            } while take(UInt8(ascii: ","))
            guard take(UInt8(ascii: "}")), let number else { return nil }
            return ServicePort(name: name, port: number, portProtocol: portProtocol)
        }
    }
}
