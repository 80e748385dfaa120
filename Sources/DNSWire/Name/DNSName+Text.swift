extension DNSName {
    /// Parses presentation format (RFC 1035 5.1): labels separated by dots, `\.` and `\DDD` escapes.
    /// The name is taken as absolute whether or not it ends in a dot; "." and "" are the root.
    public init(_ text: String) throws(DNSWireError) {
        if text == "." || text.isEmpty {
            self = .root
            return
        }
        var labels: [[UInt8]] = []
        var label: [UInt8] = []
        let bytes = Array(text.utf8)
        var index = 0
        var endedWithDot = false
        while index < bytes.count {
            let byte = bytes[index]
            endedWithDot = false
            switch byte {
            case UInt8(ascii: "."):
                guard !label.isEmpty else { throw .badNameText(text) }
                labels.append(label)
                label = []
                endedWithDot = true
                index += 1
            case UInt8(ascii: "\\"):
                guard index + 1 < bytes.count else { throw .badNameText(text) }
                let next = bytes[index + 1]
                if next >= UInt8(ascii: "0") && next <= UInt8(ascii: "9") {
                    var value = 0
                    for digitIndex in index + 1...index + 3 {
                        guard digitIndex < bytes.count else { throw .badNameText(text) }
                        let digit = bytes[digitIndex]
                        guard digit >= UInt8(ascii: "0") && digit <= UInt8(ascii: "9") else {
                            throw .badNameText(text)
                        }
                        value = value * 10 + Int(digit - UInt8(ascii: "0"))
                    }
                    guard value <= 255 else { throw .badNameText(text) }
                    label.append(UInt8(value))
                    index += 4
                } else {
                    label.append(next)
                    index += 2
                }
            default:
                label.append(byte)
                index += 1
            }
            guard label.count <= DNSName.maxLabelLength else { throw .badNameText(text) }
        }
        if !endedWithDot {
            guard !label.isEmpty else { throw .badNameText(text) }
            labels.append(label)
        }
        do {
            try self.init(labels: labels)
        } catch {
            throw .badNameText(text)
        }
    }

    /// Presentation format with the trailing dot, special and non-printable octets escaped.
    public var description: String {
        if isRoot { return "." }
        var text = ""
        for label in labels {
            for byte in label {
                switch byte {
                case UInt8(ascii: "."), UInt8(ascii: "\\"), UInt8(ascii: "\""), UInt8(ascii: ";"),
                    UInt8(ascii: "("), UInt8(ascii: ")"), UInt8(ascii: "@"), UInt8(ascii: "$"):
                    text.append("\\")
                    text.append(Character(Unicode.Scalar(byte)))
                case 0x21...0x7E:
                    text.append(Character(Unicode.Scalar(byte)))
                default:
                    let digits = String(byte)
                    text.append("\\" + String(repeating: "0", count: 3 - digits.count) + digits)
                }
            }
            text.append(".")
        }
        return text
    }
}
