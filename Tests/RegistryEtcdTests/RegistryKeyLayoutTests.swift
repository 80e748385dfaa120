import Foundation
import NIOCore
import XCTest

@testable import RegistryEtcd

final class RegistryKeyLayoutTests: XCTestCase {
    func testKeysAreBuiltAndParsedUnderThePrefix() {
        let layout = RegistryKeyLayout()
        XCTAssertEqual(
            layout.key(namespace: "app", name: "db", cluster: "c1"), "/scdns/v1/clusters/c1/services/app/db")
        XCTAssertEqual(
            layout.parse("/scdns/v1/clusters/c1/services/app/db"),
            ExportKey(namespace: "app", name: "db", cluster: "c1"))
        XCTAssertEqual(layout.claimKey(cluster: "c1"), "/scdns/v1/clusters/c1/publisher")
        XCTAssertEqual(layout.classify("/scdns/v1/clusters/c1/publisher"), .claim(cluster: "c1"))
        XCTAssertEqual(RegistryKeyLayout(prefix: "/other").clustersPrefix, "/other/clusters/")
        // Everything one cluster writes is under one prefix, which an etcd role can be confined to.
        XCTAssertTrue(layout.key(namespace: "a", name: "b", cluster: "c1").hasPrefix(layout.clusterPrefix("c1")))
        XCTAssertTrue(layout.claimKey(cluster: "c1").hasPrefix(layout.clusterPrefix("c1")))
    }

    func testKeysOutsideTheLayoutAreNotExports() {
        let layout = RegistryKeyLayout()
        // Meant as exports, but malformed: rejected as exports.
        for key in [
            "/scdns/v1/clusters/c1/services/app", "/scdns/v1/clusters/c1/services/app/db/extra",
            "/scdns/v1/clusters/c1/services//db", "/scdns/v1/clusters/c1/services/app/",
            "/scdns/v1/clusters/c1/services/app/db/x/y/z", "/scdns/v1/clusters/c1/services/",
        ] {
            XCTAssertNil(layout.parse(key), key)
            XCTAssertEqual(layout.classify(key), .malformedExport(cluster: "c1"), key)
        }
        // Not the registry's at all.
        for key in [
            "/scdns/v1/services/app/db/c1", "/scdns/v1/config/x/y/z", "/scdns/v2/clusters/c1/services/app/db",
            "/scdns/v1/clusters/c1", "/scdns/v1/clusters//services/app/db", "/scdns/v1/clusters/c1/instances/x",
            "/scdns/v1/clusters/c1/publisher/x", "/scdns/v1/clusters/c1/", "/scdns/v1/clusters",
            "/scdns/v1/clusters/c1/servicesx/app/db", "/scdns/v1/clusters/c1/publisherx",
        ] {
            XCTAssertNil(layout.parse(key), key)
            XCTAssertEqual(layout.classify(key), .other, key)
        }
        XCTAssertNil(layout.parse("/scdns/v1/clusters/c1/publisher"))
    }

    /// The classification by octets against the one by characters it replaced (`split` of the text), on random
    /// keys of the characters keys are made of, slashes and empty parts often.
    func testKeysAreClassifiedAsTheSplitOfTheirTextClassifiedThem() {
        let layout = RegistryKeyLayout()
        func byCharacters(_ key: String) -> RegistryKeyLayout.Kind {
            guard key.hasPrefix(layout.clustersPrefix) else { return .other }
            let parts = key.dropFirst(layout.clustersPrefix.count).split(
                separator: "/", omittingEmptySubsequences: false)
            guard parts.count >= 2, !parts[0].isEmpty else { return .other }
            let cluster = String(parts[0])
            if parts.count == 2, parts[1] == "publisher" { return .claim(cluster: cluster) }
            guard parts[1] == "services", parts.count >= 3 else { return .other }
            guard parts.count == 4, !parts[2].isEmpty, !parts[3].isEmpty else {
                return .malformedExport(cluster: cluster)
            }
            return .export(ExportKey(namespace: String(parts[2]), name: String(parts[3]), cluster: cluster))
        }
        var random = EtcdRegistryStateTests.SeededGenerator(state: 15)
        let parts = ["c1", "services", "services", "publisher", "app", "db", "", "x-y", "servicesx", "é"]
        var kinds = Set<String>()
        for _ in 0..<20_000 {
            // Parts joined by slashes, the second one often "services", sometimes a slash more at the end.
            var chosen = (0..<Int.random(in: 0...6, using: &random)).map { _ in parts.randomElement(using: &random)! }
            if chosen.count > 1, Bool.random(using: &random) { chosen[1] = "services" }
            let tail = chosen.joined(separator: "/") + (Int.random(in: 0..<8, using: &random) == 0 ? "/" : "")
            let key = (Bool.random(using: &random) ? layout.clustersPrefix : "/scdns/v1/") + tail
            let kind = layout.classify(key)
            XCTAssertEqual(kind, byCharacters(key), key)
            kinds.insert("\(kind)".prefix(while: { $0 != "(" }).description)
        }
        XCTAssertEqual(kinds, ["export", "malformedExport", "claim", "other"])
    }

    func testPrefixEndIsTheFirstKeyAfterThePrefix() {
        XCTAssertEqual(EtcdClient.prefixEnd("/a/"), Data("/a0".utf8))
        XCTAssertEqual(EtcdClient.prefixEnd("ab"), Data("ac".utf8))
        XCTAssertEqual(EtcdClient.prefixEnd(""), Data([0]))
    }

    func testEndpointsAreHTTPOrHTTPSWithAPortAndNoCredentials() throws {
        XCTAssertEqual(try EtcdEndpoint("http://127.0.0.1:2379/").base, "http://127.0.0.1:2379")
        XCTAssertEqual(try EtcdEndpoint("http://[::1]:2379").base, "http://[::1]:2379")
        XCTAssertTrue(try EtcdEndpoint("https://etcd-0.etcd:2379").isTLS)
        // Where a gRPC connection goes.
        let v6 = try EtcdEndpoint("http://[::1]:2379")
        XCTAssertTrue((v6.host, v6.port, v6.authority) == ("::1", 2379, "[::1]:2379"))
        let named = try EtcdEndpoint("https://etcd-0.etcd:2380/")
        XCTAssertTrue((named.host, named.port, named.authority) == ("etcd-0.etcd", 2380, "etcd-0.etcd:2380"))
        for text in ["ftp://127.0.0.1:2379", "127.0.0.1:2379", "http://127.0.0.1", "http://h:0", "http://h:1/v3"] {
            XCTAssertThrowsError(try EtcdEndpoint(text), text)
        }
        XCTAssertThrowsError(try EtcdEndpoint("https://root:hunter2@h:2379")) { error in
            XCTAssertFalse("\(error)".contains("hunter2"), "\(error)")
            XCTAssertTrue("\(error)".contains("credentials in its URL is refused"), "\(error)")
        }
    }

    func testNewlineSplitterReassemblesMessagesAcrossChunks() throws {
        var splitter = NewlineSplitter()
        try splitter.append(.init(string: "{\"a\":1}\n{\"b\""))
        XCTAssertEqual(splitter.next().map { String(decoding: $0, as: UTF8.self) }, "{\"a\":1}")
        XCTAssertNil(splitter.next())
        try splitter.append(.init(string: ":2}\r\n\n{\"c\":3}\n"))
        XCTAssertEqual(splitter.next().map { String(decoding: $0, as: UTF8.self) }, "{\"b\":2}\r")
        XCTAssertEqual(splitter.next().map { String(decoding: $0, as: UTF8.self) }, "{\"c\":3}")
        XCTAssertNil(splitter.next())
    }
}
