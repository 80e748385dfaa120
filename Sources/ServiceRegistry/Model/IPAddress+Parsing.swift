extension IPAddress {
    /// Exactly four decimal octets, each 0...255 with no leading zero and no sign.
    static func parseIPv4(_ text: ArraySlice<UInt8>) -> [UInt8]? {
        parseIPv4Value(text).map { value in (0..<4).map { UInt8(truncatingIfNeeded: value >> (24 - 8 * $0)) } }
    }

    /// `parseIPv4`'s address as one number, the first octet highest.
    static func parseIPv4Value(_ text: some Sequence<UInt8>) -> UInt32? {
        // One pass, no array of parts: a registry of 100,000 services parses 300,000 of these at start.
        var address: UInt32 = 0
        var count = 0
        var value: UInt32 = 0
        var digits = 0
        for byte in text {
            if byte == UInt8(ascii: ".") {
                guard digits > 0, value <= 255, count < 3 else { return nil }
                address = address << 8 | value
                count += 1
                value = 0
                digits = 0
                continue
            }
            guard byte &- UInt8(ascii: "0") < 10, digits < 3 else { return nil }
            // "010" is octal to inet_aton and decimal to most other parsers: refuse rather than guess.
            if digits == 1 && value == 0 { return nil }
            value = value * 10 + UInt32(byte &- UInt8(ascii: "0"))
            digits += 1
        }
        guard digits > 0, value <= 255, count == 3 else { return nil }
        return address << 8 | value
    }

    /// Eight 16-bit hex groups, at most one "::" standing for one or more zero groups (RFC 4291 2.2), and an
    /// optional dotted IPv4 tail that takes the place of the last two groups.
    static func parseIPv6(_ text: [UInt8]) -> [UInt8]? {
        let colon = UInt8(ascii: ":")
        guard text.count >= 2, text.count <= 45 else { return nil }
        var head: ArraySlice<UInt8> = text[...]
        var tail: ArraySlice<UInt8>? = nil
        if let split = doubleColon(in: text) {
            head = text[..<split]
            tail = text[(split + 2)...]
            // A second "::" (or ":::") is ambiguous.
            if doubleColon(in: Array(tail!)) != nil || tail!.first == colon || head.last == colon {
                return nil
            }
        }
        guard let headBytes = parseGroups(head, allowIPv4Tail: tail == nil) else { return nil }
        guard let tailPart = tail else {
            return headBytes.count == 16 ? headBytes : nil
        }
        guard let tailBytes = parseGroups(tailPart, allowIPv4Tail: true) else { return nil }
        // "::" must replace at least one group, so the explicit groups fill at most 14 bytes.
        let explicit = headBytes.count + tailBytes.count
        guard explicit <= 14 else { return nil }
        return headBytes + [UInt8](repeating: 0, count: 16 - explicit) + tailBytes
    }

    private static func doubleColon(in text: [UInt8]) -> Int? {
        guard text.count >= 2 else { return nil }
        for index in 0..<(text.count - 1) where text[index] == UInt8(ascii: ":") && text[index + 1] == UInt8(ascii: ":")
        {
            return index
        }
        return nil
    }

    /// Colon-separated groups; an empty input is zero groups (one side of "::").
    private static func parseGroups(_ text: ArraySlice<UInt8>, allowIPv4Tail: Bool) -> [UInt8]? {
        guard !text.isEmpty else { return [] }
        let parts = text.split(separator: UInt8(ascii: ":"), omittingEmptySubsequences: false)
        var bytes: [UInt8] = []
        for (index, part) in parts.enumerated() {
            if index == parts.count - 1 && allowIPv4Tail && part.contains(UInt8(ascii: ".")) {
                guard let v4 = parseIPv4(part) else { return nil }
                bytes += v4
            } else {
                guard let group = parseGroup(part) else { return nil }
                bytes.append(UInt8(group >> 8))
                bytes.append(UInt8(group & 0xff))
            }
        }
        return bytes.count <= 16 ? bytes : nil
    }

    private static func parseGroup(_ digits: ArraySlice<UInt8>) -> UInt16? {
        guard (1...4).contains(digits.count) else { return nil }
        var value: UInt16 = 0
        for digit in digits {
            let nibble: UInt8
            switch digit {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): nibble = digit - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): nibble = digit - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): nibble = digit - UInt8(ascii: "A") + 10
            default: return nil
            }
            value = value << 4 | UInt16(nibble)
        }
        return value
    }
}
