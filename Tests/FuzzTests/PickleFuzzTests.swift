import Foundation
import TestSupport
@testable import TorchCheckpoint
import XCTest

/// Fuzzing of the `.pth` reader's pickle VM (issue #20): mutated `data.pkl` of the golden
/// checkpoints, with seeds that nest deep (lists, tuples, a chain through the memo, nested
/// `_rebuild_from_type_v2` calls) and a dictionary of container opcodes repeated in runs, so
/// that mutations build structures past the nesting limit. Properties: `load` returns or
/// throws, never crashes; what it returns nests at most `PickleNesting.limit` deep, is
/// measured, walked for objects and freed. Budget: `FUZZ_PICKLE_SECONDS`, default 20 % of
/// `FUZZ_SECONDS` (on top of the other targets' shares).
final class PickleFuzzTests: XCTestCase {
    private var seconds: Double {
        ProcessInfo.processInfo.environment["FUZZ_PICKLE_SECONDS"].flatMap(Double.init) ?? FuzzBudget.totalSeconds * 0.2
    }

    func testFuzzPickleNesting() throws {
        let seeds = try pickleSeeds()
        // Runs of container opcodes: EMPTY_LIST, APPEND, EMPTY_TUPLE, TUPLE1, MARK, TUPLE, EMPTY_DICT,
        // SETITEM, DUP, BINPUT 0, BINGET 0, REDUCE; and GLOBALs of the calls the reader interprets.
        var dictionary: [[UInt8]] = []
        for op: UInt8 in [0x5D, 0x61, 0x29, 0x85, 0x28, 0x74, 0x7D, 0x73, 0x32, 0x52] {
            for run in [1, 7, 999, 1_000, 1_001, 5_000] { dictionary.append([UInt8](repeating: op, count: run)) }
        }
        dictionary += [[0x71, 0x00], [0x68, 0x00], [0x94], Array("ctorch._tensor\n_rebuild_from_type_v2\n".utf8),
                       Array("ccollections\nOrderedDict\n".utf8), Array("cposix\nsystem\n".utf8)]
        var mutator = Mutator(seed: FuzzBudget.seed, dictionary: dictionary)
        let current = FileManager.default.temporaryDirectory.appendingPathComponent("respcache-fuzz-current.pkl").path
        print("fuzz pickle: \(seeds.count) seeds (\(seeds.map(\.count).max() ?? 0) bytes at most), input under test at \(current)")
        var accepted = 0, refusedDeep = 0, refused = 0, deepest = 0
        let iterations = FuzzBudget.run(seconds: seconds) { _ in
            let input = mutator.mutate(seeds.randomElement(using: &mutator.random)!, maxMutations: 6, others: seeds)
            _ = FileManager.default.createFile(atPath: current, contents: Data(input))
            input.withUnsafeBytes { bytes in
                var unpickler = Unpickler(bytes: bytes) { pid throws(FormatError) in
                    guard case .tuple(let t) = pid, t.count >= 3, let key = t[2].string else { throw FormatError("not a storage") }
                    return .storage(StorageInfo(key: key, scalarType: .float32, count: 1 << 20))
                }
                do {
                    let value = try unpickler.load()
                    let depth = try PickleNesting.depth(of: value)
                    if depth > PickleNesting.limit { XCTFail("accepted a value \(depth) deep (input at \(current))") }
                    deepest = max(deepest, depth)
                    accepted += 1
                } catch {
                    if "\(error)".contains("nested more than") { refusedDeep += 1 } else { refused += 1 }
                }
            }
        }
        print("fuzz pickle: \(iterations) inputs in \(String(format: "%.0f", seconds)) s, no crash (\(accepted) read, deepest \(deepest); \(refusedDeep) refused as too deep, \(refused) other errors)")
        XCTAssertGreaterThan(iterations, 0)
    }

    /// The golden checkpoints' pickles and hand-made deep ones (within the limit and past it).
    private func pickleSeeds() throws -> [[UInt8]] {
        var seeds: [[UInt8]] = []
        for name in ["golden/checkpoints/audioset_dataparallel_zip.pth", "golden/checkpoints/official_patchmix_cl_best.pth"] {
            let data = try Data(contentsOf: URL(fileURLWithPath: Fixtures.shared(name)))
            try data.withUnsafeBytes { (bytes: UnsafeRawBufferPointer) in
                let zip = try ZipDirectory(bytes)
                guard let entry = zip.entries.first(where: { $0.name.hasSuffix("/data.pkl") }) else { return }
                seeds.append(Array(bytes[try zip.data(of: entry, in: bytes, verify: true)]))
            }
        }
        XCTAssertEqual(seeds.count, 2, "the golden pickles")
        // _rebuild_from_type_v2(_rebuild_from_type_v2, None, (_rebuild_from_type_v2, None, (... (OrderedDict,
        // None, (), {}) ...), {}), {}): each call's third argument holds the next, 300 deep.
        let rebuild = Array("ctorch._tensor\n_rebuild_from_type_v2\n".utf8)
        var call: [UInt8] = [0x80, 0x02] + rebuild
        for _ in 0..<300 { call += [0x28] + rebuild + [0x4E] }                              // MARK callable None
        call += [0x28] + Array("ccollections\nOrderedDict\n".utf8) + [0x4E, 0x29, 0x7D, 0x74]  // (OrderedDict, None, (), {})
        for _ in 0..<300 { call += [0x7D, 0x74] }                                          // {} TUPLE
        call += [0x52]                                                                     // REDUCE
        seeds += [PickleFixtures.nestedLists(depth: 990), PickleFixtures.nestedLists(depth: 1_200),
                  PickleFixtures.nestedTuples(depth: 990), PickleFixtures.memoLinkedLists(depth: 1_010),
                  [0x80, 0x02] + PickleFixtures.systemCall + [0x2E], call + [0x2E]]
        return seeds
    }
}
