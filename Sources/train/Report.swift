import ArgumentParser
import Foundation
import Training

/// `train report <dir>...`: the results table of finished runs.
struct Report: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Tabulate finished runs: mean ± sample std over seeds per method and fold, next to the paper's figures.",
        discussion: """
            Finds every result.json at or below the given directories (runs of one sweep, or of \
            several sweeps that ran anywhere), groups them by method and test fold and writes \
            results.md and results.json. Runs whose feature set or options differ in anything but \
            method, fold and seed are refused, naming them.
            """)

    @Argument(help: "Run or sweep directories (searched recursively for result.json).")
    var directories: [String]

    @Option(help: "Where results.md and results.json go (default: the first directory).")
    var output: String?

    func run() throws {
        do {
            let table = try ResultsReport.table(try ResultsReport.findResults(in: directories))
            var isDirectory: ObjCBool = false
            let first = directories[0]
            let defaultOutput = FileManager.default.fileExists(atPath: first, isDirectory: &isDirectory) && !isDirectory.boolValue
                ? (first as NSString).deletingLastPathComponent : first
            let paths = try ResultsReport.write(table, to: output ?? defaultOutput)
            FileHandle.standardOutput.write(Data(ResultsReport.markdown(table).utf8))
            writeLine("wrote \(paths.joined(separator: " and "))")
        } catch {
            FileHandle.standardError.write(Data("train report: error: \(error)\n".utf8))
            throw ExitCode.failure
        }
    }
}
