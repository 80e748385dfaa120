import Yams

/// Turns libyaml's errors into `RegistryError`s with the same file:line:column shape as validation errors, so an
/// operator reads one format whether the YAML is malformed or merely wrong.
///
/// `YAMLComposer` reads libyaml's error fields itself; Yams' `YamlError` comes through `registryError(from:)`,
/// for reading with Yams as the tests' reference. Both give the same error for the same text.
enum YAMLSyntaxError {
    /// A scanner, parser or composer error: libyaml's problem at its position, with the context it was in.
    static func syntaxError(
        file: String, line: Int, column: Int, problem: String, context: (text: String, line: Int, column: Int)?
    ) -> RegistryError {
        var message = "YAML syntax error: " + problem
        // libyaml reports e.g. problem "could not find expected ':'" with context "while scanning a simple key".
        if let context, !context.text.isEmpty {
            message += " (\(context.text) at line \(context.line), column \(context.column))"
        }
        return RegistryError(file: file, line: line, column: column, message: message)
    }

    /// Keys written twice in one mapping, in order, at the first one's first occurrence; the field is the key when
    /// there is one.
    static func duplicateKeys(_ keys: [String], file: String, line: Int, column: Int) -> RegistryError {
        RegistryError(
            file: file, line: line, column: column, field: keys.count == 1 ? keys[0] : "",
            message: "duplicate key \(keys.map { "'\($0)'" }.joined(separator: ", ")) in one mapping")
    }

    /// Text libyaml cannot read (not UTF-8, a control character), at `offset` octets into it.
    static func readerError(file: String, problem: String, offset: Int, in text: String) -> RegistryError {
        // Placed as Yams placed it: the character the octet offset falls on, if it falls on one.
        let index = text.utf8.index(text.utf8.startIndex, offsetBy: offset, limitedBy: text.utf8.endIndex)?
            .samePosition(in: text)
        return readerError(
            file: file, problem: problem, characterOffset: index.map { text.distance(from: text.startIndex, to: $0) },
            in: text)
    }

    private static func readerError(
        file: String, problem: String, characterOffset: Int?, in text: String
    ) -> RegistryError {
        let position = characterOffset.map { lineAndColumn(ofCharacterOffset: $0, in: text) }
        return RegistryError(
            file: file, line: position?.line, column: position?.column, message: "cannot read: \(problem)")
    }

    static func registryError(from error: YamlError, text: String, file: String) -> RegistryError {
        switch error {
        case .scanner(let context, let problem, let mark, _),
            .parser(let context, let problem, let mark, _),
            .composer(let context, let problem, let mark, _):
            return syntaxError(
                file: file, line: mark.line, column: mark.column, problem: problem,
                context: context.map { ($0.text, $0.mark.line, $0.mark.column) })
        case .reader(let problem, let offset, _, _):
            return readerError(file: file, problem: problem, characterOffset: offset, in: text)
        case .duplicatedKeysInMapping(let duplicates, let context):
            return duplicateKeys(duplicates, file: file, line: context.mark.line, column: context.mark.column)
        default:
            return RegistryError(file: file, message: "cannot parse: \(error)")
        }
    }

    private static func lineAndColumn(ofCharacterOffset offset: Int, in text: String) -> (line: Int, column: Int) {
        var line = 1
        var column = 1
        for character in text.prefix(offset) {
            if character == "\n" {
                line += 1
                column = 1
            } else {
                column += 1
            }
        }
        return (line, column)
    }
}
