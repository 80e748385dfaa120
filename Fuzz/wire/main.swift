import FuzzTargets

/// libFuzzer's entry (`make fuzz`): the `wire` check of FuzzTargets. Any problem it reports is a crash, so
/// libFuzzer keeps the input (Fuzz/README.md says how it becomes a regression test).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let problems = WireFuzz.check(Array(UnsafeBufferPointer(start: data, count: size)))
    if !problems.isEmpty { fatalError(problems.joined(separator: "; ")) }
    return 0
}

/// SwiftPM links an executable's entry point as `fuzz_wire_main` (`--defsym main=fuzz_wire_main`): it hands the
/// command line to libFuzzer's driver.
@_cdecl("fuzz_wire_main")
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
