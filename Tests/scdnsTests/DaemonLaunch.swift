import Foundation

/// Starting a peer daemon (Knot, Unbound) in the foreground for a test: its output captured into `log`, then
/// awaited until `isReady` says it serves, or it exits, with a deadline and no fixed sleeps.
enum DaemonLaunch {
    enum Outcome { case ready, portTaken, failed }

    /// Runs `executable` and waits. `portTaken` are phrases the daemon logs when its port is in use, so the
    /// caller can retry on another port.
    static func start(
        _ executable: String, arguments: [String], directory: String, log: LockedText, portTaken: [String],
        isReady: () throws -> Bool
    ) throws -> (Process, Outcome) {
        let offset = log.text.count
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        let output = Pipe()
        process.standardError = output
        process.standardOutput = output
        output.fileHandleForReading.readabilityHandler = { handle in
            let data = handle.availableData
            if !data.isEmpty { log.append(String(decoding: data, as: UTF8.self)) }
        }
        try process.run()
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline {
            if !process.isRunning {
                let text = String(log.text.dropFirst(offset))
                return (process, portTaken.contains(where: text.contains) ? .portTaken : .failed)
            }
            if try isReady() { return (process, .ready) }
            Thread.sleep(forTimeInterval: 0.02)
        }
        return (process, .failed)
    }
}
