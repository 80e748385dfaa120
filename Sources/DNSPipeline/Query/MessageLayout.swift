/// Where the parts of a DNS message begin, for the code that cuts or stores messages by offset.
enum MessageLayout {
    /// Where the question ends (after its QTYPE and QCLASS), or 12 for a message without one; nil if it runs past
    /// the message or its name is compressed.
    static func questionEnd(_ message: UnsafeRawBufferPointer) -> Int? {
        guard message[4] != 0 || message[5] != 0 else { return 12 }
        var offset = 12
        while offset < message.count {
            let length = Int(message[offset])
            if length == 0 { return offset + 5 <= message.count ? offset + 5 : nil }
            guard length < 0x40 else { return nil }
            offset += 1 + length
        }
        return nil
    }
}
