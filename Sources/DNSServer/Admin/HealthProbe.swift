import AsyncHTTPClient
import Foundation
import NIOCore

/// `scdns health`: asks a running server's admin endpoint for `/health` (or another path), so a container's
/// HEALTHCHECK needs no curl in the image. A wildcard admin address is asked on loopback.
public enum HealthProbe {
    public static let defaultAdmin = ListenAddress(host: "127.0.0.1", port: 9253)

    /// True and the body on a 200, false and why otherwise.
    public static func check(admin: ListenAddress, path: String, timeout: Duration) async -> (Bool, String) {
        var host = admin.host
        if host == "0.0.0.0" { host = "127.0.0.1" }
        if host == "::" { host = "::1" }
        let target = ListenAddress(host: host, port: admin.port)
        let request = HTTPClientRequest(url: "http://\(target)\(path.hasPrefix("/") ? path : "/" + path)")
        do {
            let response = try await HTTPClient.shared.execute(request, timeout: TimeAmount(timeout))
            let body = try await response.body.collect(upTo: 1 << 20)
            let text = String(buffer: body).trimmingCharacters(in: .newlines)
            return (response.status == .ok, "\(response.status.code) \(text)")
        } catch {
            return (false, "no answer from http://\(target)\(path): \(error)")
        }
    }
}
