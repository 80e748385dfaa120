/// The naming rules for everything that becomes part of a DNS name (service, namespace, cluster, hostname, port).
///
/// They are checked here, at the edge, so that the DNS layer can build names without escaping or re-checking, and
/// so that a name Kubernetes would refuse never reaches the registry.
enum DNSLabel {
    /// RFC 1123 label as Kubernetes validates it: 1...63 of lowercase a-z, 0-9 and '-', starting and ending with
    /// a letter or digit. Returns `nil` when valid, else what is wrong.
    static func problem(with label: String) -> String? {
        guard let first = label.utf8.first, let last = label.utf8.last else {
            return "must not be empty"
        }
        guard label.utf8.count <= 63 else {
            return "'\(label)' is longer than 63 characters"
        }
        guard allOctets(of: label, { isLowerAlphanumeric($0) || $0 == UInt8(ascii: "-") }) else {
            return "'\(label)' is not a DNS label: use lowercase letters, digits and '-'"
        }
        guard isLowerAlphanumeric(first), isLowerAlphanumeric(last) else {
            return "'\(label)' is not a DNS label: it must start and end with a letter or digit"
        }
        return nil
    }

    /// Whether every UTF-8 octet of `text` passes `test`, read from the string's contiguous octets: stepping its
    /// UTF-8 view costs several times as much a character (every service, namespace, cluster, region and zone of
    /// a registry is checked so), and a copy into an array cost more still.
    private static func allOctets(of text: String, _ test: (UInt8) -> Bool) -> Bool {
        text.utf8.withContiguousStorageIfAvailable { $0.allSatisfy(test) } ?? text.utf8.allSatisfy(test)
    }

    /// A port name: an RFC 1123 label that also follows RFC 6335's service-name rules (at least one letter, no
    /// "--"), because it becomes `_NAME._tcp` in SRV names where an all-digit name would read as a number.
    /// RFC 6335 caps names at 15 characters; any label length is accepted since DNS carries them fine.
    static func portNameProblem(with name: String) -> String? {
        if let problem = problem(with: name) {
            return problem
        }
        // One pass over the octets: `String.contains` of a string is Foundation's `range(of:)`, 4,000
        // instructions a name, and zipping the view with itself a third of that.
        var hasLetter = false
        var doubleHyphen = false
        var previous: UInt8 = 0
        for byte in name.utf8 {
            if byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z") { hasLetter = true }
            if byte == UInt8(ascii: "-") && previous == byte { doubleHyphen = true }
            previous = byte
        }
        guard hasLetter else {
            return "port name '\(name)' must contain at least one letter"
        }
        guard !doubleHyphen else {
            return "port name '\(name)' must not contain '--'"
        }
        return nil
    }

    /// Whether `text` may be a cluster's `region` or `zone` (`YAMLField.topologyValue`).
    static func isTopologyValue(_ text: String) -> Bool {
        let bytes = text.utf8
        func isAlphanumeric(_ byte: UInt8) -> Bool {
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte | 0x20)
                || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
        }
        guard let first = bytes.first, let last = bytes.last else { return true }
        return bytes.count <= 63 && isAlphanumeric(first) && isAlphanumeric(last)
            && allOctets(of: text) {
                isAlphanumeric($0) || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: ".")
            }
    }

    private static func isLowerAlphanumeric(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
    }
}

extension YAMLField {
    /// A cluster's `region` or `zone`: what Kubernetes allows in the value of its topology labels
    /// (`topology.kubernetes.io/region`), empty or 1...63 of letters, digits, '-', '_' and '.', starting and ending
    /// with a letter or digit. It is compared, logged and shown on /explain, so free text has no place in it.
    func topologyValue() throws(RegistryError) -> String {
        let text = try string()
        guard DNSLabel.isTopologyValue(text) else {
            throw error(
                "'\(text)' is not a label value of at most 63 characters (letters, digits, '-', '_', '.', "
                    + "starting and ending with a letter or digit), as Kubernetes topology labels are")
        }
        return text
    }

    /// A string that must be a DNS label.
    func dnsLabel() throws(RegistryError) -> String {
        let text = try string()
        if let problem = DNSLabel.problem(with: text) {
            throw error(problem)
        }
        return text
    }
}
