import DNSServer

/// libFuzzer's entry (`make fuzz`): `scdns.yaml` text into the config loader. It must never trap, and every
/// rejection names the file (and a line, where the text has one): the same check as FuzzTargetsTests' config
/// corpus replay.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    do {
        _ = try ServerConfig.load(file: "fuzz.yaml", text: text)
    } catch {
        if !"\(error)".hasPrefix("fuzz.yaml") { fatalError("a rejection without the file: \(error)") }
    }
    return 0
}
