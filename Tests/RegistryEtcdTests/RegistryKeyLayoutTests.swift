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
            "/scdns/v1/clusters/c1/publisher", "/scdns/v1/clusters/c1/publisher/x", "/scdns/v1/clusters/c1/",
            "/scdns/v1/clusters", "/scdns/v1/clusters/c1/servicesx/app/db",
        ] {
            XCTAssertNil(layout.parse(key), key)
            XCTAssertTrue([.other, .claim(cluster: "c1")].contains(layout.classify(key)), key)
        }
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
        XCTAssertTrue(try EtcdEndpoint("http://[::1]:2379").hostAndPort == ("::1", 2379))
        XCTAssertTrue(try EtcdEndpoint("https://etcd-0.etcd:2380/").hostAndPort == ("etcd-0.etcd", 2380))
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
