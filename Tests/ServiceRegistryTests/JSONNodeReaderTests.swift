import XCTest
import Yams

@testable import ServiceRegistry

/// The JSON reader must decode every export exactly as Yams does: the same service, or the same error with the
/// same line, column and field. Random exports, valid and not, in the shapes etcd holds and some it should not.
final class JSONNodeReaderTests: XCTestCase {
    struct Generator: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return state ^ (state >> 29)
        }
    }

    /// A JSON value as text, with random spacing after colons and commas (and, rarely, before a colon).
    static func text(_ pairs: [(String, String)], _ random: inout Generator) -> String {
        let after = [":", ": ", ":  "]
        let between = [",", ", "]
        let body = pairs.map { key, value in
            let colon = Int.random(in: 0..<40, using: &random) == 0 ? " :" : after.randomElement(using: &random)!
            return "\"\(key)\"\(colon)\(value)"
        }
        return "{" + body.joined(separator: between.randomElement(using: &random)!) + "}"
    }

    static func export(_ random: inout Generator) -> String {
        func pick(_ values: [String]) -> String { values.randomElement(using: &random)! }
        func chance(_ percent: Int) -> Bool { Int.random(in: 0..<100, using: &random) < percent }
        let strings = [
            #""web""#, #""api-2""#, #""Web""#, #""""#, #""a\"b""#, #""x\/y""#, #""a\nb""#, #""\u0041pi""#, "80", "true",
            "null", #""10.0.0.1""#, #""cluster-a""#, "1.5", "-3", "01", "1e3",
        ]
        let addresses = [
            #"["10.0.0.1"]"#, #"["10.0.0.1", "fd00::1"]"#, #"["10.0.0.256"]"#, "[]", #""10.0.0.1""#, "[1]",
            #"["010.0.0.1"]"#, #"["::ffff:10.0.0.1", "10.0.0.1"]"#, "null", "[ ]",
        ]
        let ports = [
            #"[{"name":"http","port":80}]"#, #"[{"name":"http","port":80,"protocol":"UDP"}]"#,
            #"[{"port":"80"}]"#, #"[{"port":0}]"#, #"[{"port":70000}]"#, #"[{"name":"h","port":80,"prot":"TCP"}]"#,
            #"[{"name":"http","port":80},{"name":"http","port":81}]"#, "{}", "[]",
        ]
        let endpoints = [
            #"[{"hostname":"pod-0","addresses":["10.1.0.1"]}]"#,
            #"[{"hostname":"pod-0","addresses":["10.1.0.1"],"ready":false}]"#, #"[{"hostname":"Pod","addresses":[]}]"#,
            #"[{"addresses":["10.1.0.1"]}]"#, #"[{"hostname":"pod-0","addresses":["10.1.0.1"],"ready":"no"}]"#,
        ]
        var pairs: [(String, String)] = [
            ("name", chance(85) ? #""web""# : pick(strings)),
            ("namespace", chance(85) ? #""shop""# : pick(strings)),
            ("cluster", chance(85) ? #""cluster-a""# : pick(strings)),
        ]
        if chance(60) { pairs.append(("addresses", chance(70) ? #"["10.0.0.1"]"# : pick(addresses))) }
        if chance(40) { pairs.append(("ports", pick(ports))) }
        if chance(20) { pairs.append(("type", pick([#""Headless""#, #""ClusterSetIP""#, #""headless""#, "1"]))) }
        if chance(20) { pairs.append(("endpoints", pick(endpoints))) }
        if chance(20) { pairs.append(("vip", pick([#""10.9.0.1""#, #""nope""#, "null", "7"]))) }
        if chance(20) { pairs.append(("weight", pick(["100", "0", "-1", "1.5", #""100""#, "4294967296", "1e2"]))) }
        if chance(20) { pairs.append(("healthy", pick(["true", "false", #""true""#, "null", "True"]))) }
        if chance(20) { pairs.append(("region", pick([#""eu-west-1""#, "3", #""""#]))) }
        if chance(10) { pairs.append(("zone", pick(strings))) }
        if chance(5) { pairs.append(("adresses", #"["10.0.0.1"]"#)) }
        if chance(5), let duplicate = pairs.randomElement(using: &random) { pairs.append(duplicate) }
        pairs.shuffle(using: &random)
        var text = Self.text(pairs, &random)
        switch Int.random(in: 0..<40, using: &random) {
        case 0: text.removeLast(Int.random(in: 1...min(10, text.count), using: &random))
        case 1: text += "\n"
        case 2: text += " x"
        case 3: text = "  " + text + "  "
        case 4: text = text.replacingOccurrences(of: ", ", with: ",\t")
        case 5: text = text.replacingOccurrences(of: "\"web\"", with: "\"wéb\"")
        case 6: text = "[" + text + "]"
        default: break
        }
        return text
    }

    func testEveryExportDecodesAsYamsDecodesIt() throws {
        var random = Generator(state: 20_261_206)
        var read = 0
        var accepted = 0
        for index in 0..<3_000 {
            let text = Self.export(&random)
            let file = "etcd:/scdns/v1/clusters/cluster-a/services/shop/web"
            if JSONNodeReader.read(text) != nil { read += 1 }
            let fast = Result { () throws(RegistryError) in try RegistryDecoder.decodeExport(text, file: file) }
            let slow = Result { () throws(RegistryError) in
                try RegistryDecoder.decodeExport(YAMLField.parseWithYams(text, file: file), file: file)
            }
            switch (fast, slow) {
            case (.success(let left), .success(let right)):
                XCTAssertEqual(left, right, "\(index): \(text)")
                accepted += 1
            case (.failure(let left), .failure(let right)):
                XCTAssertEqual(left, right, "\(index): \(text)")
            default:
                XCTFail("\(index): \(text): the JSON reader gives \(fast), Yams \(slow)")
            }
        }
        // The test means something only if both paths, and both outcomes, were taken often.
        XCTAssertGreaterThan(read, 1_500)
        XCTAssertLessThan(read, 2_900)
        XCTAssertGreaterThan(accepted, 300)
    }

    /// A key twice in one object is left to libyaml (which refuses it), whether the object is short or long: the
    /// reader looks for keys among a list up to 16 and in a set beyond.
    func testAKeyTwiceIsLeftToLibyamlInShortAndLongObjects() {
        func object(_ keys: [Int]) -> String {
            "{" + keys.map { "\"k\($0)\": \($0)" }.joined(separator: ", ") + "}"
        }
        XCTAssertNotNil(JSONNodeReader.read(object(Array(0..<10))))
        XCTAssertNotNil(JSONNodeReader.read(object(Array(0..<40))))
        XCTAssertNil(JSONNodeReader.read(object([0, 1, 2, 3, 1])))
        XCTAssertNil(JSONNodeReader.read(object(Array(0..<16) + [3])))
        XCTAssertNil(JSONNodeReader.read(object(Array(0..<30) + [29])))
        XCTAssertNil(JSONNodeReader.read(object(Array(0..<30) + [2])))
    }

    /// Where the reader takes a text, its nodes are the nodes Yams composes: structure, strings, tags and marks.
    func testTheNodesAreYamsNodesMarksIncluded() throws {
        var random = Generator(state: 7)
        var compared = 0
        for _ in 0..<1_000 {
            let text = Self.export(&random)
            guard let node = JSONNodeReader.read(text) else { continue }
            let yams = try XCTUnwrap(YAMLField.parseWithYams(text, file: "t")).node
            YAMLComposerTests.assertSame(node, yams, text)
            compared += 1
        }
        XCTAssertGreaterThan(compared, 500)
    }
}
