import Durability
import Foundation
import TestSupport
import Training
import TrainingTestSupport
import XCTest

/// Checkpoints go through the durable writer: the real `train` binary under strace fsyncs each
/// checkpoint's temp file before renaming it and the directory after; a run killed with -9 at
/// any moment leaves loadable checkpoints and temp files that the next run sweeps.
final class CheckpointDurabilityTests: XCTestCase {

    func writeShards(_ dir: String) throws {
        try SyntheticShards.write(to: dir + "/shards", train: SyntheticCorpus.make(count: 40, seed: 1),
                                  test: SyntheticCorpus.make(count: 20, seed: 2))
    }

    /// One system call of an strace log (unfinished/resumed halves joined).
    struct Call {
        var name: String
        var arguments: String
        var result: String
        /// The fd's path of a call traced with -y (`fsync(5</path>)`), or the first path argument.
        var path: String? {
            if let open = arguments.firstIndex(of: "<"), let close = arguments.lastIndex(of: ">"), open < close {
                return String(arguments[arguments.index(after: open)..<close])
            }
            return quoted.first
        }
        /// The quoted string arguments (rename's source and destination, openat's path).
        var quoted: [String] {
            arguments.split(separator: "\"", omittingEmptySubsequences: false).enumerated()
                .filter { $0.offset % 2 == 1 }.map { String($0.element) }
        }
    }

    /// Parses `strace -f -y` output into calls, in the order they completed.
    static func parse(_ log: String) -> [Call] {
        var pending: [String: String] = [:]
        var calls: [Call] = []
        for raw in log.split(separator: "\n").map(String.init) {
            guard let space = raw.firstIndex(of: " ") else { continue }
            let pid = String(raw[..<space])
            var line = raw[raw.index(after: space)...].trimmingCharacters(in: .whitespaces)
            if line.hasSuffix("<unfinished ...>") {
                pending[pid] = String(line.dropLast("<unfinished ...>".count)).trimmingCharacters(in: .whitespaces)
                continue
            }
            if line.hasPrefix("<... "), let resumed = line.range(of: "resumed>") {
                line = (pending.removeValue(forKey: pid) ?? "") + line[resumed.upperBound...]
            }
            guard let open = line.firstIndex(of: "("), let equals = line.range(of: ") = ", options: .backwards) else { continue }
            calls.append(Call(name: String(line[..<open]), arguments: String(line[line.index(after: open)..<equals.lowerBound]),
                              result: String(line[equals.upperBound...])))
        }
        return calls
    }

    func testCheckpointsAreFsyncedBeforeTheRenameAndTheDirectoryAfter() throws {
        let strace = try Fixtures.tool("strace")
        let dir = try Fixtures.scratchDirectory("fsync")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try writeShards(dir)
        let run = URL(fileURLWithPath: dir + "/run").resolvingSymlinksInPath().path
        let train = try Fixtures.executable("train")
        let traced = Fixtures.system([strace, "-f", "-y", "-e", "trace=openat,fsync,fdatasync,rename,renameat,renameat2",
                                      "-o", dir + "/strace.log", train, "--shards", dir + "/shards", "--model", "ast-tiny",
                                      "--epochs", "2", "--method", "ce", "--threads", "1", "--output", run])
        XCTAssertEqual(traced.status, 0, traced.output)
        let log = try String(contentsOfFile: dir + "/strace.log", encoding: .utf8)
        let calls = Self.parse(log)
        XCTAssertFalse(calls.isEmpty)
        var writes: [String: Int] = [:]
        for name in ["last.pth", "best.pth"] {
            let (count, problems) = Self.durabilityProblems(calls, directory: run, name: name)
            XCTAssertEqual(problems, [], name)
            writes[name] = count
        }
        XCTAssertEqual(writes["last.pth"], 2, "one last.pth per epoch")
        let bestEpochs = try String(contentsOfFile: run + "/log.jsonl", encoding: .utf8).split(separator: "\n")
            .filter { $0.contains(#""best":true"#) }.count
        XCTAssertEqual(writes["best.pth"], bestEpochs, "one best.pth per best epoch")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: run).filter { $0.contains(AtomicFile.partialMarker) }, [])
        print("strace: \(writes["last.pth"] ?? 0) last.pth and \(writes["best.pth"] ?? 0) best.pth writes, each temp file fsynced before its rename and the directory after")

        // The check bites: the same trace without the directory's fsyncs, or without the temp
        // files', fails it.
        let withoutDirectorySync = log.split(separator: "\n").filter { !$0.contains("fsync(") || !$0.contains("<\(run)>") }
        XCTAssertNotEqual(Self.durabilityProblems(Self.parse(withoutDirectorySync.joined(separator: "\n")), directory: run, name: "last.pth").problems, [])
        let withoutFileSync = log.split(separator: "\n").filter { !$0.contains("fsync(") || !$0.contains(AtomicFile.partialMarker) }
        XCTAssertNotEqual(Self.durabilityProblems(Self.parse(withoutFileSync.joined(separator: "\n")), directory: run, name: "last.pth").problems, [])
    }

    /// For every rename onto `directory/name` in `calls`: the temp file was fsynced after the
    /// previous rename and before this one, the directory fsynced after it (and before the next);
    /// nothing opened the final name for writing. Returns the number of renames and what failed.
    static func durabilityProblems(_ calls: [Call], directory: String, name: String) -> (writes: Int, problems: [String]) {
        let final = directory + "/" + name
        var problems: [String] = []
        for call in calls where call.name == "openat" && call.quoted.first == final
            && (call.arguments.contains("O_WRONLY") || call.arguments.contains("O_CREAT")) {
            problems.append("\(name) opened for writing: \(call)")
        }
        let renames = calls.indices.filter { i in
            calls[i].name.hasPrefix("rename") && calls[i].quoted.last == final && calls[i].result.hasPrefix("0")
        }
        if renames.isEmpty { problems.append("\(name) never renamed into place") }
        for (k, r) in renames.enumerated() {
            let quoted = calls[r].quoted
            guard quoted.count >= 2 else { problems.append("unparsed rename \(calls[r])"); continue }
            let temporary = quoted[quoted.count - 2]
            if !(temporary as NSString).lastPathComponent.hasPrefix("." + name + AtomicFile.partialMarker) {
                problems.append("\(name), write \(k + 1): temp file \(temporary) is not AtomicFile's")
            }
            let previous = k > 0 ? renames[k - 1] : -1
            let fileSynced = calls[(previous + 1)..<r].contains {
                ($0.name == "fsync" || $0.name == "fdatasync") && $0.path == temporary && $0.result.hasPrefix("0")
            }
            if !fileSynced { problems.append("\(name), write \(k + 1): \(temporary) not fsynced before its rename") }
            let next = k + 1 < renames.count ? renames[k + 1] : calls.count
            let directorySynced = calls[(r + 1)..<next].contains {
                $0.name == "fsync" && $0.path == directory && $0.result.hasPrefix("0")
            }
            if !directorySynced { problems.append("\(name), write \(k + 1): \(directory) not fsynced after the rename") }
        }
        return (renames.count, problems)
    }

    /// Loads a checkpoint with the Swift loader and checks its meta (what `--resume` and `--eval` do).
    func assertLoadable(_ path: String, _ context: String, file: StaticString = #filePath, line: UInt = #line) {
        do {
            let checkpoint = try LoadedCheckpoint(path: path)
            let meta = try CheckpointMeta.read(checkpoint)
            XCTAssertGreaterThanOrEqual(meta.epoch, 1, context, file: file, line: line)
            let model = try ASTModel(config: meta.options.model)
            try checkpoint.load(into: model, policy: .evaluate)
        } catch {
            XCTFail("\(context): \(path) does not load: \(error)", file: file, line: line)
        }
    }

    func testRunKilledWhileCheckpointingLeavesLoadableCheckpointsAndResumes() throws {
        let dir = try Fixtures.scratchDirectory("kill9")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try writeShards(dir)
        let run = dir + "/run"
        let epochs = 6
        let common = ["--shards", dir + "/shards", "--model", "ast-tiny", "--epochs", "\(epochs)", "--method", "ce",
                      "--threads", "1", "--output", run]
        let fm = FileManager.default
        func partials() -> [String] { ((try? fm.contentsOfDirectory(atPath: run)) ?? []).filter { $0.contains(AtomicFile.partialMarker) } }
        func start(_ arguments: [String]) throws -> Process {
            try Fixtures.start("train", arguments)
        }
        var killedMidWrite = 0
        // Kill 1: once best.pth exists. Kills 2-4: the moment a checkpoint's temp file shows up
        // (mid-write when the poll catches it), else when a new last.pth lands.
        for round in 1...4 {
            let resume = fm.fileExists(atPath: run + "/last.pth")
            let process = try start(common + (resume ? ["--resume"] : []))
            let lastBefore = (try? fm.attributesOfItem(atPath: run + "/last.pth")[.modificationDate] as? Date) ?? nil
            var midWrite = false
            // No deadline: the run ends by itself if the moment never comes, and the test says so.
            while process.isRunning {
                if round == 1 {
                    if fm.fileExists(atPath: run + "/best.pth") { break }
                } else {
                    if !partials().isEmpty { midWrite = true; break }
                    let last = (try? fm.attributesOfItem(atPath: run + "/last.pth")[.modificationDate] as? Date) ?? nil
                    if let last, last != lastBefore { break }
                }
                usleep(1_000)
            }
            XCTAssertTrue(process.isRunning, "round \(round): the run ended before it could be killed (make the run longer)")
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            XCTAssertEqual(process.terminationReason, .uncaughtSignal)
            if midWrite && !partials().isEmpty { killedMidWrite += 1 }
            // Whatever the moment, the checkpoints on disk load, and a temp file is never a result.
            for name in ["best.pth", "last.pth"] where fm.fileExists(atPath: run + "/" + name) {
                assertLoadable(run + "/" + name, "after kill \(round)")
            }
            XCTAssertTrue(partials().allSatisfy { $0.hasPrefix(".") }, "\(partials())")
            XCTAssertNotEqual(RunState(directory: run), .finished)
        }
        let inspected = try Fixtures.run("train", ["--inspect-checkpoint", run + "/best.pth"])
        XCTAssertEqual(inspected.status, 0, inspected.stderr)
        XCTAssertTrue(inspected.stdout.contains("loaded:"), inspected.stdout)

        // The resumed run sweeps the leftovers and finishes with a full, consistent log.
        let resumed = try Fixtures.run("train", common + ["--resume"])
        XCTAssertEqual(resumed.status, 0, resumed.stdout + resumed.stderr)
        XCTAssertEqual(partials(), [], "temp files of the killed runs are swept")
        XCTAssertEqual(RunState(directory: run), .finished)
        let log = try String(contentsOfFile: run + "/log.jsonl", encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(log.count, epochs)
        let best = try CheckpointMeta.read(path: run + "/best.pth")
        let last = try CheckpointMeta.read(path: run + "/last.pth")
        XCTAssertEqual(last.epoch, epochs)
        XCTAssertEqual(best.epoch, last.best.epoch, "best.pth holds the epoch the run counts as best")
        assertLoadable(run + "/best.pth", "after the resumed run")
        print("kill -9 test: \(killedMidWrite) of 3 kills landed while a temp file existed")
    }
}
