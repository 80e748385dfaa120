import DNSServer

/// libFuzzer's entry (`make fuzz`): `scdns.yaml` text into the config loader. It must never trap, and every
/// rejection names the file: the same check as FuzzTargetsTests' config corpus replay.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    do {
        _ = try ServerConfig.load(file: "fuzz.yaml", text: text)
    } catch {
        if !"\(error)".hasPrefix("fuzz.yaml") { fatalError("a rejection without the file: \(error)") }
    }
    return 0
}

/// SwiftPM links an executable's entry point as `fuzz_config_main` (`--defsym main=fuzz_config_main`): it hands
/// the command line to libFuzzer's driver.
@_cdecl("fuzz_config_main")
public func fuzzMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    var count = argc
    var arguments = argv
    return runFuzzerDriver(&count, &arguments, fuzz)
}

@_silgen_name("LLVMFuzzerRunDriver")
func runFuzzerDriver(
    _ argc: UnsafeMutablePointer<Int32>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>, Int) -> Int32
) -> Int32
