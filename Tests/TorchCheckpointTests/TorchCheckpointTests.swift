import Foundation
import TestSupport
import TorchCheckpoint
import XCTest

/// Paths and Debian's Python with torch (the reference writer of .pth files), through TestSupport.
enum Fixture {
    static let goldenFiles = [
        "golden/checkpoints/audioset_dataparallel_zip.pth", "golden/checkpoints/audioset_dataparallel_legacy.pth",
        "golden/checkpoints/official_patchmix_cl_best.pth", "golden/ast_tiny_audioset_layout.pth", "golden/step/initial.pth",
    ].map { Fixtures.shared($0) }

    static func temporaryDirectory() throws -> String {
        try Fixtures.scratchDirectory("torch-checkpoint-tests")
    }

    /// Runs a Python script with torch; skips visibly when python3-torch is missing.
    static func python(_ script: String, _ arguments: [String], file: StaticString = #filePath, line: UInt = #line) throws {
        try Fixtures.python(script, arguments, file: file, line: line)
    }
}

final class TorchCheckpointTests: XCTestCase {
    /// Every dtype, strided views, nested containers and foreign objects, in both formats,
    /// against the values torch itself reports (converted to float32 by torch).
    func testDtypesViewsAndContainersInBothFormats() throws {
        let dir = try Fixture.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Fixture.python("""
            import sys, argparse, collections, numpy as np, torch
            d = sys.argv[1]
            torch.manual_seed(0)
            base = torch.randn(4, 6)
            t = collections.OrderedDict()
            t['f32'] = torch.randn(3, 4); t['f16'] = (torch.randn(5) * 100).half(); t['bf16'] = torch.randn(6).bfloat16()
            t['f64'] = torch.randn(2, 3).double() * 1e-3; t['i64'] = torch.arange(-3, 4); t['i32'] = torch.arange(3, dtype=torch.int32)
            t['i16'] = torch.tensor([-2, 7], dtype=torch.int16); t['i8'] = torch.tensor([-1, 5], dtype=torch.int8)
            t['u8'] = torch.tensor([0, 255], dtype=torch.uint8); t['bool'] = torch.tensor([True, False, True])
            t['transposed'] = torch.randn(4, 5).t(); t['base'] = base; t['view'] = base[1:, 2:5]; t['scalar'] = torch.tensor(2.5)
            t['empty'] = torch.zeros(0, 3); t['expanded'] = torch.randn(3, 1).expand(3, 4)
            obj = {'tensors': t, 'nested': {'list': [1, 2.5, 'x', None, True], 'tuple': (1, (2, 3))},
                   'args': argparse.Namespace(lr=0.5, name='run'), 'big': 2 ** 70, 'neg': -5, 'bytes': b'abc', 'epoch': 3}
            torch.save(obj, d + '/zip.pth')
            torch.save(obj, d + '/legacy.pth', _use_new_zipfile_serialization=False)
            for k, v in t.items():
                v.float().contiguous().numpy().astype(np.float32).tofile(d + '/' + k + '.f32')
            """, [dir])
        for name in ["zip.pth", "legacy.pth"] {
            let file = try TorchCheckpoint(path: dir + "/" + name)
            XCTAssertEqual(file.format == .legacy, name == "legacy.pth")
            let root = try XCTUnwrap(file.root.dict)
            let tensors = try XCTUnwrap(root["tensors"]?.dict)
            XCTAssertEqual(tensors.className, "collections.OrderedDict")
            XCTAssertEqual(tensors.count, 16)
            for (key, value) in tensors.namedEntries {
                let info = try XCTUnwrap(value.tensor, key)
                let expected = try Data(contentsOf: URL(fileURLWithPath: dir + "/" + key + ".f32")).withUnsafeBytes {
                    Array($0.bindMemory(to: Float.self))
                }
                XCTAssertEqual(try file.floats(info), expected, "\(name) \(key)")
            }
            XCTAssertEqual(tensors["i64"]?.tensor.map { try? file.int64s($0) }, [-3, -2, -1, 0, 1, 2, 3])
            XCTAssertEqual(tensors["f16"]?.tensor?.scalarType, .float16)
            XCTAssertEqual(tensors["view"]?.tensor?.shape, [3, 3])
            XCTAssertEqual(tensors["scalar"]?.tensor?.shape, [])
            // Containers and objects of classes this reader does not know.
            let nested = try XCTUnwrap(root["nested"]?.dict)
            guard case .list(let list)? = nested["list"], case .tuple(let tuple)? = nested["tuple"] else { return XCTFail("containers") }
            XCTAssertEqual(list.items.count, 5)
            XCTAssertEqual(list.items[2].string, "x")
            if case .float(let f) = list.items[1] { XCTAssertEqual(f, 2.5) } else { XCTFail("float") }
            if case .tuple(let inner) = tuple[1] { XCTAssertEqual(inner.compactMap(\.int), [2, 3]) } else { XCTFail("tuple") }
            guard case .object(let args)? = root["args"] else { return XCTFail("Namespace") }
            XCTAssertEqual(args.className, "argparse.Namespace")
            XCTAssertEqual(args.state?.dict?["name"]?.string, "run")
            if case .bigInt(let b)? = root["big"] { XCTAssertEqual(b.last, 0x40) } else { XCTFail("2**70") }
            XCTAssertEqual(root["neg"]?.int, -5)
            XCTAssertEqual(root["epoch"]?.int, 3)
            XCTAssertEqual(try file.namedTensors().count, 16)
        }
    }

    func testCompressedEntriesAreRefusedClearly() throws {
        let dir = try Fixture.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Fixture.python("""
            import sys, zipfile
            src, dst = sys.argv[1], sys.argv[2]
            with zipfile.ZipFile(src) as a, zipfile.ZipFile(dst, 'w', zipfile.ZIP_DEFLATED) as b:
                for info in a.infolist():
                    b.writestr(info.filename, a.read(info.filename))
            """, [Fixture.goldenFiles[0], dir + "/deflated.pth"])
        XCTAssertThrowsError(try TorchCheckpoint(path: dir + "/deflated.pth")) { error in
            XCTAssertTrue("\(error)".contains("deflated.pth: zip entry audioset_dataparallel_zip/data.pkl is compressed (method 8)"), "\(error)")
        }
    }

    /// Zero bytes, garbage, a zip of something else, a plain pickle, a TorchScript-like zip: one
    /// error naming the file each.
    func testForeignFilesGiveOneClearError() throws {
        let dir = try Fixture.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        _ = FileManager.default.createFile(atPath: dir + "/empty.pth", contents: Data())
        var rng = SystemRandomNumberGenerator()
        _ = FileManager.default.createFile(atPath: dir + "/random.pth", contents: Data((0..<4096).map { _ in UInt8.random(in: 0...255, using: &rng) }))
        try Fixture.python("""
            import sys, pickle, zipfile
            d = sys.argv[1]
            with zipfile.ZipFile(d + '/random.zip', 'w') as z:
                z.writestr('notes/readme.txt', 'hello'); z.writestr('notes/data.bin', bytes(range(256)))
            with zipfile.ZipFile(d + '/script.zip', 'w') as z:
                z.writestr('m/constants.pkl', b''); z.writestr('m/code/m.py', 'x')
            open(d + '/plain.pkl', 'wb').write(pickle.dumps({'a': [1, 2, 3]}, protocol=2))
            """, [dir])
        let cases = [
            ("empty.pth", "empty file (0 bytes)"), ("random.pth", "not a PyTorch checkpoint"),
            ("random.zip", "a zip archive without <name>/data.pkl"), ("script.zip", "a TorchScript archive"),
            ("plain.pkl", "a pickle without PyTorch's magic number"), ("missing.pth", "cannot open"),
        ]
        for (name, message) in cases {
            XCTAssertThrowsError(try TorchCheckpoint(path: dir + "/" + name), name) { error in
                XCTAssertTrue("\(error)".hasPrefix(dir + "/" + name + ": ") && "\(error)".contains(message), "\(error)")
                XCTAssertFalse("\(error)".contains("\n"), "one line: \(error)")
            }
        }
    }

    /// Truncations at many offsets and random byte flips of the real golden files: each either
    /// reads (and its tensors convert) or fails with a CheckpointError. Never a crash or a hang.
    func testTruncationsAndByteFlipsNeverCrash() throws {
        let dir = try Fixture.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var seed: UInt64 = 0x9E37_79B9_7F4A_7C15
        func next() -> UInt64 {   // SplitMix64: a fixed sequence, reproducible failures
            seed &+= 0x9E37_79B9_7F4A_7C15
            var z = seed
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        var outcomes = (failed: 0, read: 0)
        for original in Fixture.goldenFiles.prefix(3) {
            let bytes = try Data(contentsOf: URL(fileURLWithPath: original))
            let path = dir + "/case.pth"
            // Truncations: the first 600 bytes densely (headers, pickle), then spread over the file.
            var lengths = Array(stride(from: 0, to: min(600, bytes.count), by: 13))
            lengths += (0..<50).map { _ in Int(next() % UInt64(bytes.count)) }
            lengths += [bytes.count - 1, bytes.count - 22, bytes.count - 100]
            for n in lengths {
                try bytes.prefix(n).write(to: URL(fileURLWithPath: path))
                exercise(path, &outcomes, expectFailure: true)
            }
            for _ in 0..<70 {
                var copy = bytes
                let flips = 1 + Int(next() % 4)
                for _ in 0..<flips {
                    // Half the flips hit the first 4 KB or the last 4 KB, where the structure lives.
                    let region = next() % 2 == 0 ? Int(next() % 4096) : (next() % 2 == 0 ? bytes.count - 1 - Int(next() % 4096) : Int(next() % UInt64(bytes.count)))
                    copy[region] ^= UInt8(1 << (next() % 8))
                }
                try copy.write(to: URL(fileURLWithPath: path))
                exercise(path, &outcomes, expectFailure: false)
            }
        }
        print("corruption fuzz: \(outcomes.failed) clear errors, \(outcomes.read) files still read")
        XCTAssertGreaterThan(outcomes.failed, 300)
    }

    private func exercise(_ path: String, _ outcomes: inout (failed: Int, read: Int), expectFailure: Bool) {
        do {
            let file = try TorchCheckpoint(path: path)
            for (_, tensor) in try file.namedTensors() { _ = try file.floats(tensor) }
            outcomes.read += 1
            if expectFailure { XCTFail("a truncated file read without error: \(path)") }
        } catch {
            XCTAssertTrue(error.description.hasPrefix(path + ": "), error.description)
            outcomes.failed += 1
        }
    }
}
