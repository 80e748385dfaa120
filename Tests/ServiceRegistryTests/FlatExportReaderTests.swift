import XCTest

@testable import ServiceRegistry

/// The direct reader of flat exports against the general path (the document, then `ExportDecoder`): whatever it
/// reads, the general path reads the same service from; and it must read what publishers write, or it saves
/// nothing.
final class FlatExportReaderTests: XCTestCase {
    private static let file = "etcd:/scdns/v1/clusters/cluster-a/services/shop/web"

    /// The general path alone, as `decodeExport` was before the direct reader.
    private func general(_ text: String) -> Result<Service, RegistryError> {
        Result { () throws(RegistryError) in
            try RegistryDecoder.decodeExport(YAMLField.parse(text, file: Self.file), file: Self.file)
        }
    }

    func testWhatItReadsTheGeneralPathReadsTheSameOnRandomExports() throws {
        var random = JSONNodeReaderTests.Generator(state: 20_261_207)
        var read = 0
        var declinedValid = 0
        for index in 0..<6_000 {
            let text = JSONNodeReaderTests.export(&random)
            let direct = FlatExportReader.read(text)
            switch general(text) {
            case .success(let service):
                if let direct {
                    XCTAssertEqual(direct, service, "\(index): \(text)")
                    read += 1
                } else {
                    declinedValid += 1
                }
            case .failure(let error):
                XCTAssertNil(direct, "\(index): \(text) is read, but the general path says \(error)")
            }
        }
        // Both outcomes often: most valid exports are read directly (the rest have endpoints, escapes, tabs...).
        XCTAssertGreaterThan(read, 600, "declined \(declinedValid)")
        XCTAssertGreaterThan(declinedValid, 100)
    }

    /// Single edits of valid exports: a byte changed, dropped or doubled anywhere. Each either still reads as the
    /// general path reads it, or is declined.
    func testEveryOneByteEditOfAValidExportIsReadAsTheGeneralPathReadsItOrDeclined() throws {
        let exports = [
            #"{"name":"s1","namespace":"bench","ports":[{"name":"http","port":80,"protocol":"TCP"}],"cluster":"c1","#
                + #""region":"r1","zone":"r1-z1","addresses":["10.101.0.2"],"weight":100}"#,
            #"{"name": "web", "namespace": "shop", "type": "ClusterSetIP", "vip": "fd00::10", "cluster": "c-2", "#
                + #""healthy": false, "ports": [{"port": 53, "protocol": "UDP"}, {"name": "dns-tcp", "port": 53}], "#
                + #""addresses": ["10.0.0.1", "fd00::1"], "weight": 7}"#,
            #"{"type":"Headless","name":"db","namespace":"n1","cluster":"a","region":"","zone":"Z.9_x"}"#,
        ]
        var compared = 0
        for export in exports {
            let service = try XCTUnwrap(FlatExportReader.read(export), export)
            XCTAssertEqual(service, try general(export).get(), export)
            let bytes = Array(export.utf8)
            let replacements = Array(#" "\:,{}[]0129azAZ.-_n"#.utf8) + [0x09, 0x0A, 0xC3]
            var edits: [[UInt8]] = []
            for index in bytes.indices {
                edits.append(Array(bytes[..<index] + bytes[(index + 1)...]))
                edits.append(Array(bytes[...index] + bytes[index...]))
                for byte in replacements where byte != bytes[index] {
                    var edited = bytes
                    edited[index] = byte
                    edits.append(edited)
                }
            }
            for edit in edits {
                let text = String(decoding: edit, as: UTF8.self)
                guard let direct = FlatExportReader.read(text) else { continue }
                compared += 1
                switch general(text) {
                case .success(let service): XCTAssertEqual(direct, service, text)
                case .failure(let error): XCTFail("\(text) is read, but the general path says \(error)")
                }
            }
        }
        XCTAssertGreaterThan(compared, 500)
    }

    /// What each check of the general path refuses is declined, each on its own.
    func testEachRefusalOfTheGeneralPathIsDeclined() throws {
        let base = #"{"name":"web","namespace":"shop","cluster":"c1","addresses":["10.0.0.1"]}"#
        XCTAssertNotNil(FlatExportReader.read(base))
        let refused = [
            #"{"name":"Web","namespace":"shop","cluster":"c1"}"#,
            #"{"name":"web","namespace":"shop"}"#,
            #"{"name":"web","namespace":"shop","cluster":"c1","type":"headless"}"#,
            #"{"name":"web","namespace":"shop","cluster":"c1","type":"Headless","vip":"10.0.0.9"}"#,
            #"{"name":"web","namespace":"shop","cluster":"c1","type":"Headless","addresses":[]}"#,
            #"{"name":"web","namespace":"shop","cluster":"c1","vip":"::ffff:10.0.0.1"}"#,
            #"{"name":"web","namespace":"shop","cluster":"c1","addresses":["10.0.0.1","10.0.0.1"]}"#,
            #"{"name":"web","namespace":"shop","cluster":"c1","weight":0}"#,
            #"{"name":"web","namespace":"shop","cluster":"c1","weight":65536}"#,
            #"{"name":"web","namespace":"shop","cluster":"c1","region":"-eu"}"#,
            #"{"name":"web","namespace":"shop","cluster":"c1","ports":[{"name":"80","port":80}]}"#,
            #"{"name":"web","namespace":"shop","cluster":"c1","ports":[{"name":"a--b","port":80}]}"#,
            #"{"name":"web","namespace":"shop","cluster":"c1","ports":[{"port":80},{"port":80}]}"#,
            #"{"name":"web","namespace":"shop","cluster":"c1","ports":[{"name":"a","port":80},{"name":"a","port":81}]}"#,
            #"{"name":"web","namespace":"shop","cluster":"c1","ports":[{"port":0}]}"#,
            #"{"name":"web","namespace":"shop","cluster":"c1","ports":[{"name":"a"}]}"#,
            #"{"name":"web","namespace":"shop","cluster":"c1","ports":[{"port":80,"protocol":"tcp"}]}"#,
            #"{"name":"web","namespace":"shop","cluster":"c1","ports":[{"port":80,"port":81}]}"#,
            #"{"name":"web","namespace":"shop","cluster":"c1","name":"web"}"#,
        ]
        for text in refused {
            XCTAssertNil(FlatExportReader.read(text), text)
            guard case .failure = general(text) else { return XCTFail("the general path reads \(text)") }
        }
        // Valid, but left to the general path: endpoints, null, an escape, a tab, a long address list.
        let addresses = (1...17).map { "\"10.0.0.\($0)\"" }.joined(separator: ",")
        let declined = [
            #"{"name":"db","namespace":"shop","cluster":"c1","type":"Headless","#
                + #""endpoints":[{"hostname":"p0","addresses":["10.1.0.1"]}]}"#,
            #"{"name":"web","namespace":"shop","cluster":"c1","vip":null}"#,
            #"{"name":"web","namespace":"shop","cluster":"c\u0031"}"#,
            "{\"name\":\"web\",\t\"namespace\":\"shop\",\"cluster\":\"c1\"}",
            #"{"name":"web","namespace":"shop","cluster":"c1","addresses":[\#(addresses)]}"#,
        ]
        for text in declined {
            XCTAssertNil(FlatExportReader.read(text), text)
            guard case .success = general(text) else { return XCTFail("the general path refuses \(text)") }
        }
    }
}
