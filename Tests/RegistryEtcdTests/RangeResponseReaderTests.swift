import Foundation
import XCTest

@testable import RegistryEtcd

/// The listing's hand reader against `JSONDecoder`: where the reader gives a response, it is the one
/// `JSONDecoder` gives, on the gateway's own shapes, on shapes it could send, and on thousands of mutants; where
/// it declines, `JSONDecoder` decides.
final class RangeResponseReaderTests: XCTestCase {
    /// What a response holds, spelled out for comparing.
    func spelled(_ response: RangeResponse) -> String {
        let header = response.header.map { "header \($0.revision?.value ?? -1)" } ?? "no header"
        let keyValues = (response.kvs ?? []).map {
            "\($0.key.base64EncodedString())=\($0.value?.base64EncodedString() ?? "-") "
                + "\($0.create_revision?.value ?? -1)/\($0.mod_revision?.value ?? -1)/\($0.lease?.value ?? -1)"
        }
        let kvs = response.kvs == nil ? "no kvs" : "kvs [\(keyValues.joined(separator: ", "))]"
        return "\(header); \(kvs); more \(String(describing: response.more)); count \(response.count?.value ?? -1)"
    }

    func reference(_ text: String) -> String? {
        (try? JSONDecoder().decode(RangeResponse.self, from: Data(text.utf8))).map(spelled)
    }

    func b64(_ text: String) -> String { Data(text.utf8).base64EncodedString() }

    /// A page as etcd 3.4's gateway writes it.
    var gatewayPage: String {
        var kvs: [String] = []
        for index in 1...3 {
            let key = b64("/scdns/v1/clusters/c\(index)/services/app/web")
            let value = b64("{\"name\":\"web\",\"n\":\(index)}")
            let lease = index == 2 ? ",\"lease\":\"7587870000000000001\"" : ""
            kvs.append(
                "{\"key\":\"\(key)\",\"create_revision\":\"\(index + 1)\",\"mod_revision\":\"\(index + 7)\","
                    + "\"version\":\"2\",\"value\":\"\(value)\"\(lease)}")
        }
        let header =
            #"{"cluster_id":"14841639068965178418","member_id":"10276657743932975437","revision":"301","#
            + #""raft_term":"2"}"#
        return "{\"header\":\(header),\"kvs\":[\(kvs.joined(separator: ","))],\"more\":true,\"count\":\"300000\"}"
    }

    func testTheGatewaysShapesAreReadAsJSONDecoderReadsThem() throws {
        let bodies = [
            gatewayPage,
            // No key left: no kvs, no more, no count (proto3 leaves defaults out).
            #"{"header":{"cluster_id":"1","member_id":"2","revision":"9","raft_term":"2"}}"#,
            // Integers as numbers, spaces and newlines, fields in another order, a value left out.
            """
            { "count" : 2 , "more":false,
              "kvs" : [ { "value":"\(b64("v"))", "mod_revision": 12, "key" : "\(b64("k"))" },
                        {"key":"\(b64("only"))"} ],
              "header" : { "revision" : -3 } }
            """,
            // Fields it does not read, of every kind, skipped.
            #"{"extra":{"a":[1,2.5e3,{"b":null}],"c":"x\"y\\z\u00e9"},"kvs":[],"n":-0.5,"t":true,"f":false}"#,
            "{}",
        ]
        for body in bodies {
            let read = try XCTUnwrap(RangeResponseReader.read(Data(body.utf8)), body)
            XCTAssertEqual(spelled(read), reference(body), body)
        }
        XCTAssertEqual(RangeResponseReader.read(Data(gatewayPage.utf8))?.kvs?.count, 3)
    }

    func testNumbersAreJSONsNumbers() {
        for (word, isNumber) in [
            ("0", true), ("-0", true), ("12", true), ("1.5", true), ("-1.5e+3", true), ("2E9", true), ("01", false),
            ("1.", false), (".5", false), ("+1", false), ("1e", false), ("inf", false), ("nan", false),
            ("0x10", false), ("-", false), ("1e+", false),
        ] {
            let result = Array(word.utf8).withUnsafeBytes { RangeResponseReader.isNumber($0) }
            XCTAssertEqual(result, isNumber, word)
        }
    }

    /// Shapes it leaves to `JSONDecoder`: an escape where it reads a string's octets as they lie, a null where
    /// it expects a value, a key twice, and whatever follows the object.
    func testWhatItDoesNotExpectIsLeftToJSONDecoder() {
        for body in [
            #"{"kvs":[{"key":"a2V5\/"}]}"#,
            #"{"kvs":[{"key":"a2V5","value":null}]}"#,
            #"{"count":"1","count":"2"}"#,
            #"{"kvs":[]} x"#,
            #"{"kvs":[{"value":"dg=="}]}"#,
            #"{"more":"yes"}"#,
        ] {
            XCTAssertNil(RangeResponseReader.read(Data(body.utf8)), body)
        }
    }

    /// Mutants of a page (octets replaced, dropped, repeated): whenever the reader gives a response, it is the
    /// one `JSONDecoder` gives.
    func testMutantsReadAreReadAsJSONDecoderReadsThem() {
        // Seeded (EtcdRegistryStateTests' SplitMix64): a failing mutant is made again from the seed.
        var generator = EtcdRegistryStateTests.SeededGenerator(state: 42)
        let original = Array(gatewayPage.utf8)
        let alphabet = Array(#"{}[]:,"\ 0123456789-.etrufalsnAQ="#.utf8)
        var read = 0
        for _ in 0..<3_000 {
            var mutant = original
            for _ in 0..<Int.random(in: 1...3, using: &generator) {
                let at = Int.random(in: 0..<mutant.count, using: &generator)
                switch Int.random(in: 0..<3, using: &generator) {
                case 0: mutant[at] = alphabet.randomElement(using: &generator)!
                case 1: mutant.remove(at: at)
                default: mutant.insert(mutant[at], at: at)
                }
            }
            guard let response = RangeResponseReader.read(Data(mutant)) else { continue }
            read += 1
            let text = String(decoding: mutant, as: UTF8.self)
            XCTAssertEqual(spelled(response), reference(text), text)
        }
        XCTAssertGreaterThan(read, 100, "mutants of a field the reader skips or of a value's octets still read")
    }
}
