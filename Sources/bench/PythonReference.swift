import Foundation

/// Times a reference implementation in a child Python process, next to ours in the same run.
///
/// The child runs single-threaded (`OPENBLAS_NUM_THREADS=1` and friends; the script itself
/// calls `torch.set_num_threads(1)`) with `argv[1]` a float32 input file, `argv[2]` the file it
/// writes its float32 output to, then `arguments`. It must print one line starting with
/// `marker`, whose fields the caller parses.
enum PythonReference {
    struct Result {
        /// The marker line's fields after the marker itself.
        let fields: [Substring]
        /// The float32 values the script wrote to `argv[2]`.
        let output: [Float]
    }

    /// Runs `script`; nil, with the reason and `installHint` printed, when `python` is missing or
    /// the script fails (e.g. torchaudio not installed). Throws only on a malformed result.
    static func run(python: String, script: String, input: [Float], arguments: [String] = [],
                    marker: String, installHint: String) throws -> Result? {
        guard FileManager.default.isExecutableFile(atPath: python) else {
            print("  reference: not timed: \(python) missing (\(installHint))")
            return nil
        }
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("bench-\(marker.lowercased())-\(ProcessInfo.processInfo.processIdentifier)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let inPath = directory.appendingPathComponent("input.f32"), outPath = directory.appendingPathComponent("output.f32")
        try input.withUnsafeBytes { Data($0) }.write(to: inPath)

        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = ["-c", script, inPath.path, outPath.path] + arguments
        var environment = ProcessInfo.processInfo.environment
        for key in ["OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"] { environment[key] = "1" }
        process.environment = environment
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let text = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0,
              let line = text.split(separator: "\n").last(where: { $0.hasPrefix(marker + " ") }) else {
            print("  reference: not timed (\(python) exited \(process.terminationStatus)); \(installHint). Output:\n\(text)")
            return nil
        }
        let bytes = try Data(contentsOf: outPath)
        guard bytes.count % MemoryLayout<Float>.size == 0 else { throw BenchError("the reference wrote \(bytes.count) bytes, not float32 values") }
        let output = bytes.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
        return Result(fields: Array(line.split(separator: " ").dropFirst()), output: output)
    }
}

/// A benchmark's failure, printed by `main.swift`.
struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
