/// Which split and release a file belongs to, read from its folders (FORMAT.md's layouts):
/// `train*` -> train; `inter_test*`, `intra_test*` -> the 2022 tests; `test2023*`,
/// `test2024_detection_json`, `test_classification_json/2023` -> `test<year>`; a year folder
/// `20xx` below a test or valid folder -> `test<year>`. The deepest folder that says something
/// wins. Anything else (the flat, pre-split `test_json/`, `valid_detection_json/`) is
/// `unassigned`, never silently training data.
public enum SPRSoundSplit {
    public static let unassigned = "unassigned"

    /// `folders`: the file's directories from the corpus root down (the file name left out).
    public static func of(folders: [String]) -> (split: String, release: String) {
        let release = folders.lazy.compactMap { year(after: "biocas", in: $0.lowercased()) }.last
        var split = unassigned
        for (depth, folder) in folders.enumerated().reversed() {
            let name = folder.lowercased()
            if name.hasPrefix("inter_test") { split = "inter_test"; break }
            if name.hasPrefix("intra_test") { split = "intra_test"; break }
            if let year = year(after: "test", in: name) { split = "test" + year; break }
            if name.count == 4, name.hasPrefix("20"), name.allSatisfy(\.isASCIIDigit), depth > 0,
               ["test", "valid"].contains(where: { folders[depth - 1].lowercased().hasPrefix($0) }) {
                if name == "2022" { continue }   // 2022's test is split further (inter/intra) or not at all
                split = "test" + name; break
            }
            if name.hasPrefix("train") { split = "train"; break }
        }
        let implied: String = switch split {
        case "train", "inter_test", "intra_test": "2022"
        case let test where test.hasPrefix("test"): String(test.dropFirst(4))
        default: ""
        }
        return (split, release ?? implied)
    }

    /// `2023` in `test2023_json` (prefix `test`) or `BioCAS2023` (prefix `biocas`).
    private static func year(after prefix: String, in name: String) -> String? {
        guard name.hasPrefix(prefix) else { return nil }
        let digits = name.dropFirst(prefix.count).prefix(4)
        guard digits.count == 4, digits.hasPrefix("20"), digits.allSatisfy(\.isASCIIDigit) else { return nil }
        return String(digits)
    }
}
