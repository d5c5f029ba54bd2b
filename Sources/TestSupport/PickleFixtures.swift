import Foundation

/// Hand-made hostile pickles and `.pth` files (issue #20): deep nesting, and payload objects
/// spliced into real checkpoints. Zips are written by Python's `zipfile` (stored entries, as
/// `torch.save` writes them); no torch needed.
public enum PickleFixtures {
    /// The payload: PROTO 2, EMPTY_LIST x `depth`, APPEND x (`depth` - 1), STOP: lists
    /// nested `depth` deep.
    public static func nestedLists(depth: Int) -> [UInt8] {
        [0x80, 0x02] + nestedListsBody(depth: depth) + [0x2E]
    }

    /// Just the opcodes that leave lists nested `depth` deep on the stack.
    public static func nestedListsBody(depth: Int) -> [UInt8] {
        [UInt8](repeating: 0x5D, count: depth) + [UInt8](repeating: 0x61, count: depth - 1)
    }

    /// EMPTY_TUPLE, then TUPLE1 x (`depth` - 1): tuples nested `depth` deep (freed by Swift's
    /// runtime one call per level: tuples have no deinit of ours).
    public static func nestedTuples(depth: Int) -> [UInt8] {
        [0x80, 0x02, 0x29] + [UInt8](repeating: 0x85, count: depth - 1) + [0x2E]
    }

    /// `depth` empty lists memoised first, then linked top-down through the memo (list i
    /// appended to list i - 1 while i is still empty): a chain `depth` deep in which no list
    /// was ever deeper than 2 when it was put into its parent.
    public static func memoLinkedLists(depth: Int) -> [UInt8] {
        func le32(_ v: Int) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: v >> (8 * $0)) } }
        var p: [UInt8] = [0x80, 0x02]
        for i in 0..<depth { p += [0x5D, 0x72] + le32(i) + [0x30] }                       // EMPTY_LIST LONG_BINPUT POP
        for i in 0..<(depth - 1) { p += [0x6A] + le32(i) + [0x6A] + le32(i + 1) + [0x61, 0x30] }  // GET GET APPEND POP
        return p + [0x6A] + le32(0) + [0x2E]
    }

    /// `os.system("touch PWNED")` as pickle opcodes: GLOBAL posix system, MARK, str, TUPLE, REDUCE.
    public static let systemCall: [UInt8] = Array("cposix\nsystem\n(X".utf8) + [11, 0, 0, 0] + Array("touch PWNED".utf8) + [0x74, 0x52]

    /// Writes `pickle` as `<archive>/data.pkl` of a zip at `path`, beside `<archive>/version`
    /// and `<archive>/byteorder`, as torch.save lays a file out.
    public static func writeCheckpoint(pickle: [UInt8], to path: String, archive: String = "archive") throws {
        // Through a file: one command-line argument holds at most 128 KiB.
        let bytes = path + ".pickle"
        try Data(pickle).write(to: URL(fileURLWithPath: bytes))
        defer { try? FileManager.default.removeItem(atPath: bytes) }
        try Fixtures.python("""
            import sys, zipfile
            path, archive, pickle = sys.argv[1], sys.argv[2], open(sys.argv[3], 'rb').read()
            with zipfile.ZipFile(path, 'w', zipfile.ZIP_STORED) as z:
                z.writestr(archive + '/data.pkl', pickle)
                z.writestr(archive + '/byteorder', 'little')
                z.writestr(archive + '/version', '3\\n')
            """, [path, archive, bytes])
    }

    /// Copies the zip checkpoint `source` to `destination` with `key: <value opcodes>` added to
    /// its top-level dict (SETITEM just before the final STOP): an otherwise valid checkpoint.
    public static func splice(into source: String, to destination: String, key: String, value: [UInt8]) throws {
        let item: [UInt8] = [0x58] + withUnsafeBytes(of: UInt32(key.utf8.count).littleEndian, Array.init) + Array(key.utf8) + value + [0x73]
        let bytes = destination + ".item"
        try Data(item).write(to: URL(fileURLWithPath: bytes))
        defer { try? FileManager.default.removeItem(atPath: bytes) }
        try Fixtures.python("""
            import sys, zipfile
            src, dst, item = sys.argv[1], sys.argv[2], open(sys.argv[3], 'rb').read()
            with zipfile.ZipFile(src) as a, zipfile.ZipFile(dst, 'w', zipfile.ZIP_STORED) as b:
                for info in a.infolist():
                    data = a.read(info.filename)
                    if info.filename.endswith('/data.pkl'):
                        assert data.endswith(b'.'), 'pickle does not end with STOP'
                        data = data[:-1] + item + b'.'
                    b.writestr(info.filename, data)
            """, [source, destination, bytes])
    }
}
