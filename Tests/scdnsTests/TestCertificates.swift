import Foundation
import XCTest

/// A CA, a server certificate for 127.0.0.1 and a client certificate, made with openssl for one test, as an
/// operator makes them for etcd (EC P-256, the server's with subjectAltName IP:127.0.0.1). Also a second, unrelated
/// CA, to show what a client that trusts the wrong one sees.
struct TestCertificates {
    let directory: String
    var ca: String { directory + "/ca.pem" }
    var otherCA: String { directory + "/other-ca.pem" }
    var serverCert: String { directory + "/server.pem" }
    var serverKey: String { directory + "/server-key.pem" }
    var clientCert: String { directory + "/client.pem" }
    var clientKey: String { directory + "/client-key.pem" }

    init(file: StaticString = #filePath, line: UInt = #line) throws {
        directory = NSTemporaryDirectory() + "scdns-certs-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let curve = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        func openssl(_ arguments: [String]) throws {
            let result = try Tools.run("openssl", arguments, file: file, line: line)
            guard result.status == 0 else {
                XCTFail("openssl \(arguments.prefix(2)): \(result.output)", file: file, line: line)
                throw TestFailure("openssl failed")
            }
        }
        for (name, subject) in [("ca", "scdns test CA"), ("other-ca", "some other CA")] {
            try openssl(
                ["req", "-x509", "-new"] + curve + [
                    "-keyout", "\(directory)/\(name)-key.pem", "-out", "\(directory)/\(name).pem", "-days", "2",
                    "-subj", "/CN=\(subject)",
                ])
        }
        for (name, subject, extensions) in [
            // etcd's gateway connects to its own gRPC port with the server's certificate: clientAuth too.
            ("server", "etcd", "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n"),
            ("client", "scdns", "extendedKeyUsage=clientAuth\n"),
        ] {
            try extensions.write(toFile: "\(directory)/\(name).ext", atomically: true, encoding: .utf8)
            try openssl(
                ["req", "-new"] + curve + [
                    "-keyout", "\(directory)/\(name)-key.pem", "-out", "\(directory)/\(name).csr", "-subj",
                    "/CN=\(subject)",
                ])
            try openssl([
                "x509", "-req", "-in", "\(directory)/\(name).csr", "-CA", ca, "-CAkey", "\(directory)/ca-key.pem",
                "-CAcreateserial", "-out", "\(directory)/\(name).pem", "-days", "2", "-extfile",
                "\(directory)/\(name).ext",
            ])
        }
    }

    func remove() { try? FileManager.default.removeItem(atPath: directory) }
}
