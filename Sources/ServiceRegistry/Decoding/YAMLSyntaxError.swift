import Yams

/// Turns libyaml's errors into `RegistryError`s with the same file:line:column shape as validation errors, so an
/// operator reads one format whether the YAML is malformed or merely wrong.
enum YAMLSyntaxError {
    static func registryError(from error: YamlError, text: String, file: String) -> RegistryError {
        switch error {
        case .scanner(let context, let problem, let mark, _),
            .parser(let context, let problem, let mark, _),
            .composer(let context, let problem, let mark, _):
            return RegistryError(
                file: file,
                line: mark.line,
                column: mark.column,
                message: "YAML syntax error: " + describe(problem: problem, context: context)
            )
        case .reader(let problem, let offset, _, _):
            let position = offset.map { lineAndColumn(ofCharacterOffset: $0, in: text) }
            return RegistryError(
                file: file,
                line: position?.line,
                column: position?.column,
                message: "cannot read: \(problem)"
            )
        case .duplicatedKeysInMapping(let duplicates, let context):
            let keys = duplicates.map { "'\($0)'" }.joined(separator: ", ")
            return RegistryError(
                file: file,
                line: context.mark.line,
                column: context.mark.column,
                field: duplicates.count == 1 ? duplicates[0] : "",
                message: "duplicate key \(keys) in one mapping"
            )
        default:
            return RegistryError(file: file, message: "cannot parse: \(error)")
        }
    }

    /// libyaml reports e.g. problem "could not find expected ':'" with context "while scanning a simple key".
    private static func describe(problem: String, context: YamlError.Context?) -> String {
        guard let context, !context.text.isEmpty else { return problem }
        return "\(problem) (\(context.text) at line \(context.mark.line), column \(context.mark.column))"
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
