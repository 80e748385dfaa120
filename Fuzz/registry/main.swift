import FuzzTargets

/// libFuzzer's entry (`make fuzz`): the `registry` check of FuzzTargets; any problem it reports is a crash, so libFuzzer
/// keeps the input (Fuzz/README.md says how it becomes a regression test).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let problems = RegistryFuzz.check(Array(UnsafeBufferPointer(start: data, count: size)))
    if !problems.isEmpty { fatalError(problems.joined(separator: "; ")) }
    return 0
}
