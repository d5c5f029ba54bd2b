/// A PyTorch `.pth` file read without Python or libtorch: the zip format (torch >= 1.6) and the
/// legacy format (a stream of pickles followed by raw storages), with tensors left in the
/// memory-mapped file until they are converted (REFERENCE.md ".pth file format facts").
public final class TorchCheckpoint {
    public enum Format: Equatable, Sendable {
        /// Zip archive with this folder name (`<name>/data.pkl`, `<name>/data/<key>`).
        case zip(archive: String)
        /// Pre-1.6 stream of pickles.
        case legacy
    }

    public let path: String
    public let format: Format
    /// The unpickled top-level object.
    public let root: PickleValue

    private let file: MappedFile
    /// Storage key -> byte range of its first element in the file.
    private let storageBytes: [String: Range<Int>]
    private let zipDirectory: ZipDirectory?
    private var verifiedEntries: Set<String> = []

    /// Opens and unpickles `path`; tensor data is read later, on demand.
    public init(path: String) throws(CheckpointError) {
        self.path = path
        do {
            file = try MappedFile(path: path)
            let bytes = file.bytes
            if ZipDirectory.looksLikeZip(bytes) {
                let zip = try ZipDirectory(bytes)
                let (archive, root, storages) = try Self.readZip(zip, bytes)
                zipDirectory = zip
                format = .zip(archive: archive)
                self.root = root
                storageBytes = storages
            } else {
                let (root, storages) = try Self.readLegacy(bytes)
                zipDirectory = nil
                format = .legacy
                self.root = root
                storageBytes = storages
            }
        } catch {
            throw CheckpointError(path: path, message: error.message)
        }
    }

    // MARK: tensor data

    /// The tensor's values as Float (float16, bfloat16 and float64 converted; integer types too).
    public func floats(_ tensor: TensorInfo) throws(CheckpointError) -> [Float] {
        do {
            return try withFloats(tensor) { Array($0) }
        } catch let e as CheckpointError {
            throw e
        } catch {
            throw CheckpointError(path: path, message: "\(error)")
        }
    }

    /// Calls `body` with the tensor's values as contiguous Float. A contiguous, aligned float32
    /// tensor is handed over in place (no copy); its pages are released from memory afterwards.
    /// Reading problems throw `CheckpointError`; errors of `body` pass through unchanged.
    public func withFloats<R>(_ tensor: TensorInfo, _ body: (UnsafeBufferPointer<Float>) throws -> R) throws -> R {
        let range = try byteRange(of: tensor)
        defer { file.release(range) }
        let base = file.base + range.lowerBound
        let n = tensor.count
        if tensor.scalarType == .float32, isContiguous(tensor), Int(bitPattern: base) % MemoryLayout<Float>.alignment == 0 {
            return try body(UnsafeBufferPointer(start: base.assumingMemoryBound(to: Float.self), count: n))
        }
        let values = gather(tensor, base: base) { p, i -> Float in
            switch tensor.scalarType {
            case .float32: Float(bitPattern: p.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self))
            case .float64: Float(Double(bitPattern: p.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self)))
            case .float16: Float(Self.half(p.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)))
            case .bfloat16: Float(bitPattern: UInt32(p.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)) << 16)
            default: Float(Self.integer(tensor.scalarType, p, i))
            }
        }
        return try values.withUnsafeBufferPointer(body)
    }

    /// The tensor's values as Int64 (integer and bool storages; floating-point values truncated).
    public func int64s(_ tensor: TensorInfo) throws(CheckpointError) -> [Int64] {
        let range = try byteRange(of: tensor)
        defer { file.release(range) }
        return gather(tensor, base: file.base + range.lowerBound) { p, i -> Int64 in
            switch tensor.scalarType {
            case .float32, .float64, .float16, .bfloat16:
                Self.truncated(Self.floatingAsDouble(tensor.scalarType, p, i))
            default: Self.integer(tensor.scalarType, p, i)
            }
        }
    }

    /// Every tensor reachable through dicts from `root`, named by their dotted key path
    /// (`model.v.cls_token`); integer keys count as names, other containers are skipped.
    public func namedTensors() throws(CheckpointError) -> [(name: String, tensor: TensorInfo)] {
        var out: [(String, TensorInfo)] = []
        var visiting: Set<ObjectIdentifier> = []
        func walk(_ value: PickleValue, _ prefix: String, _ depth: Int) throws(CheckpointError) {
            guard depth < 32 else { throw CheckpointError(path: path, message: "dicts nested deeper than 32 levels at \(prefix)") }
            switch value {
            case .tensor(let t): out.append((prefix, t))
            case .dict(let d):
                let id = ObjectIdentifier(d)
                guard visiting.insert(id).inserted else { return }   // a dict that contains itself
                defer { visiting.remove(id) }
                for (key, v) in d.namedEntries { try walk(v, prefix.isEmpty ? key : prefix + "." + key, depth + 1) }
            default: break
            }
        }
        try walk(root, "", 0)
        return out
    }

    /// What this reader keeps as opaque records, reachable from `root` through dicts, lists and
    /// tuples: instances of classes it does not interpret (`argparse.Namespace`, or a payload
    /// such as `os.system(...)`: never run) and bare references to classes or functions, by key
    /// path (`args`, `extra[2]`) and class name, in file order. Loaders name them as skipped.
    public func uninterpretedObjects() -> [(name: String, className: String)] {
        var found: [(String, String)] = []
        var seen: Set<UInt> = []
        var pending: [(value: PickleValue, name: String)] = [(root, "")]
        // Iterative, each container once: values may be shared through the memo, and nest up to
        // `PickleNesting.limit` deep.
        while let (value, name) = pending.popLast() {
            switch value {
            case .object(let o): found.append((name, o.className))
            case .global(let module, let function): found.append((name, "\(module).\(function)"))
            case .dict, .list, .tuple:
                guard let (key, _) = value.identityAndChildren, seen.insert(key).inserted else { continue }
                var children: [(PickleValue, String)] = []
                switch value {
                case .dict(let d):
                    children = zip(d.keys, d.values).enumerated().map { i, entry in
                        let key = entry.0.string ?? entry.0.int.map(String.init) ?? "[\(i)]"
                        return (entry.1, name.isEmpty ? key : name + "." + key)
                    }
                    // An OrderedDict's attributes (`_metadata`), set by BUILD: a place to hide a payload too.
                    if let attributes = d.attributes { children.append((attributes, name.isEmpty ? "__dict__" : name + ".__dict__")) }
                case .list(let l): children = l.items.enumerated().map { ($1, "\(name)[\($0)]") }
                case .tuple(let t): children = t.enumerated().map { ($1, "\(name)[\($0)]") }
                default: break
                }
                pending += children.reversed()
            default: break
            }
        }
        return found
    }

    private func isContiguous(_ t: TensorInfo) -> Bool {
        var expected = 1
        for (n, s) in zip(t.shape, t.strides).reversed() {
            if n != 1 && s != expected { return false }
            expected *= n
        }
        return true
    }

    /// The bytes the tensor's elements span (storage view included), checked against the file.
    private func byteRange(of t: TensorInfo) throws(CheckpointError) -> Range<Int> {
        guard let storage = storageBytes[t.storage.key] else {
            throw CheckpointError(path: path, message: "storage \(t.storage.key) is referenced but missing from the file")
        }
        do {
            if let zip = zipDirectory, !verifiedEntries.contains(t.storage.key), case .zip(let archive) = format,
               let entry = zip.entry(named: "\(archive)/data/\(t.storage.key)") {
                _ = try zip.data(of: entry, in: file.bytes, verify: true)
                verifiedEntries.insert(t.storage.key)
            }
        } catch {
            throw CheckpointError(path: path, message: error.message)
        }
        if t.count == 0 { return storage.lowerBound..<storage.lowerBound }
        // Overflow-checked: every number here comes from the file.
        let size = t.scalarType.byteCount
        var end: Int? = t.count == 0 ? 0 : 1
        for (n, s) in zip(t.shape, t.strides) where n > 0 { end = end.flatMap { $0.adding((n - 1).multiplied(by: s)) } }
        let first = t.storage.viewOffset.adding(t.offset).flatMap { $0.multiplied(by: size) }
        guard let first, let end = end.flatMap({ $0.multiplied(by: size) }).flatMap({ first.adding($0) }),
              end <= storage.count else {
                throw CheckpointError(path: path, message: "tensor data of storage \(t.storage.key) reaches past the \(storage.count) bytes the file holds: truncated or corrupt")
        }
        return (storage.lowerBound + first)..<(storage.lowerBound + end)
    }

    private func gather<T>(_ t: TensorInfo, base: UnsafeRawPointer, _ element: (UnsafeRawPointer, Int) -> T) -> [T] {
        let n = t.count
        guard n > 0 else { return [] }
        // `base` points at the first element of the view: indices are relative to it.
        if isContiguous(t) { return (0..<n).map { element(base, $0) } }
        var out: [T] = []
        out.reserveCapacity(n)
        var index = [Int](repeating: 0, count: t.shape.count)
        for _ in 0..<n {
            var linear = 0
            for d in index.indices { linear += index[d] * t.strides[d] }
            out.append(element(base, linear))
            var d = index.count - 1
            while d >= 0 {
                index[d] += 1
                if index[d] < t.shape[d] { break }
                index[d] = 0
                d -= 1
            }
        }
        return out
    }

    private static func half(_ bits: UInt16) -> Float {
        #if arch(x86_64) || arch(arm64)
        return Float(Float16(bitPattern: bits))
        #else
        let sign = UInt32(bits >> 15) << 31, exponent = Int((bits >> 10) & 0x1F), mantissa = UInt32(bits & 0x3FF)
        if exponent == 0x1F { return Float(bitPattern: sign | 0x7F80_0000 | mantissa << 13) }
        if exponent == 0 { return (sign != 0 ? -1 : 1) * Float(mantissa) * 0x1p-24 }
        return Float(bitPattern: sign | UInt32(exponent + 112) << 23 | mantissa << 13)
        #endif
    }

    private static func integer(_ type: ScalarType, _ p: UnsafeRawPointer, _ i: Int) -> Int64 {
        switch type {
        case .int64: Int64(bitPattern: p.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self))
        case .int32: Int64(Int32(bitPattern: p.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)))
        case .int16: Int64(Int16(bitPattern: p.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)))
        case .int8: Int64(Int8(bitPattern: p.load(fromByteOffset: i, as: UInt8.self)))
        case .uint8: Int64(p.load(fromByteOffset: i, as: UInt8.self))
        case .bool: p.load(fromByteOffset: i, as: UInt8.self) != 0 ? 1 : 0
        default: 0
        }
    }

    /// Truncation toward zero as torch's float -> int64 cast, without trapping on NaN or overflow.
    private static func truncated(_ d: Double) -> Int64 {
        guard d.isFinite else { return 0 }
        return Int64(max(min(d, 9.2e18), -9.2e18))
    }

    private static func floatingAsDouble(_ type: ScalarType, _ p: UnsafeRawPointer, _ i: Int) -> Double {
        switch type {
        case .float64: Double(bitPattern: p.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self))
        case .float32: Double(Float(bitPattern: p.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)))
        case .float16: Double(half(p.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)))
        default: Double(Float(bitPattern: UInt32(p.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)) << 16))
        }
    }

    // MARK: formats

    /// `('storage', torch.FloatStorage, key, location, numel)`, and legacy files' sixth
    /// element `view_metadata` (None or `(view_key, offset, size)`).
    private static func storageID(_ pid: PickleValue) throws(FormatError) -> (StorageInfo, view: (key: String, offset: Int, count: Int)?) {
        guard case .tuple(let t) = pid, t.count >= 5, t[0].string == "storage",
              case .global(let module, let name) = t[1], let key = t[2].string, let count = t[4].int, count >= 0 else {
            throw FormatError("unexpected persistent id (\(pid.kind)): not a PyTorch storage reference")
        }
        guard module == "torch", let type = ScalarType(storageClass: name) else {
            throw FormatError("storage \(key) has the unsupported type \(module).\(name)")
        }
        let storage = StorageInfo(key: key, scalarType: type, count: Int(count))
        if t.count >= 6, case .tuple(let v) = t[5], v.count == 3, let viewKey = v[0].string,
           let offset = v[1].int, let size = v[2].int, offset >= 0, size >= 0 {
            return (storage, (viewKey, Int(offset), Int(size)))
        }
        return (storage, nil)
    }

    private static func readZip(_ zip: ZipDirectory, _ bytes: UnsafeRawBufferPointer) throws(FormatError)
        -> (String, PickleValue, [String: Range<Int>]) {
        guard let pickle = zip.entries.first(where: { $0.name.hasSuffix("/data.pkl") && $0.name.split(separator: "/").count == 2 }) else {
            if zip.entries.contains(where: { $0.name.hasSuffix("constants.pkl") || $0.name.contains("/code/") }) {
                throw FormatError("a TorchScript archive (torch.jit.save), not a torch.save checkpoint")
            }
            throw FormatError("a zip archive without <name>/data.pkl: not a PyTorch checkpoint")
        }
        let archive = String(pickle.name.dropLast("/data.pkl".count))
        if let order = zip.entry(named: "\(archive)/byteorder") {
            let r = try zip.data(of: order, in: bytes, verify: true)
            guard String(decoding: UnsafeRawBufferPointer(rebasing: bytes[r]), as: UTF8.self) == "little" else {
                throw FormatError("big-endian checkpoint: not supported")
            }
        }
        let pickleRange = try zip.data(of: pickle, in: bytes, verify: true)
        var storages: [String: Range<Int>] = [:]
        var unpickler = Unpickler(bytes: UnsafeRawBufferPointer(rebasing: bytes[pickleRange])) { pid throws(FormatError) in
            let (storage, _) = try storageID(pid)
            if storages[storage.key] == nil {
                guard let entry = zip.entry(named: "\(archive)/data/\(storage.key)") else {
                    throw FormatError("storage \(storage.key) is referenced but \(archive)/data/\(storage.key) is missing")
                }
                storages[storage.key] = try zip.data(of: entry, in: bytes, verify: false)
            }
            guard let needed = storage.count.multiplied(by: storage.scalarType.byteCount),
                  needed <= storages[storage.key]!.count else {
                throw FormatError("storage \(storage.key): \(storage.count) elements of \(storage.scalarType) do not fit its \(storages[storage.key]!.count) bytes")
            }
            return .storage(storage)
        }
        return (archive, try unpickler.load(), storages)
    }

    private static let legacyMagic: [UInt8] = [0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19]

    /// Legacy layout: magic number, protocol version 1001, sys info, the object, the sorted
    /// list of storage keys, then per key an int64 element count and the raw bytes.
    private static func readLegacy(_ bytes: UnsafeRawBufferPointer) throws(FormatError) -> (PickleValue, [String: Range<Int>]) {
        if bytes.count > 262, String(decoding: UnsafeRawBufferPointer(rebasing: bytes[257..<262]), as: UTF8.self) == "ustar" {
            throw FormatError("a tar-format checkpoint (torch < 0.4): not supported, re-save it with a current torch.save")
        }
        guard bytes.count >= 2, bytes[0] == 0x80 else {
            let head = bytes.prefix(8).map { String($0, radix: 16) }.joined(separator: " ")
            throw FormatError("not a PyTorch checkpoint: neither a zip archive nor a legacy pickle stream (first bytes \(head))")
        }
        var types: [String: ScalarType] = [:]
        var unpickler = Unpickler(bytes: bytes) { pid throws(FormatError) in
            let (storage, view) = try storageID(pid)
            if let known = types[storage.key], known != storage.scalarType {
                throw FormatError("storage \(storage.key) is referenced with two types, \(known) and \(storage.scalarType)")
            }
            types[storage.key] = storage.scalarType
            guard let view else { return .storage(storage) }
            // A view of the root storage: its data lies `offset` elements into the root's.
            return .storage(StorageInfo(key: storage.key, scalarType: storage.scalarType, count: view.count,
                                        viewOffset: view.offset))
        }
        guard case .bigInt(let magic) = try unpickler.load(), magic == legacyMagic else {
            throw FormatError("a pickle without PyTorch's magic number: not a PyTorch checkpoint")
        }
        guard try unpickler.load().int == 1001 else { throw FormatError("legacy checkpoint: unsupported protocol version") }
        if let info = try unpickler.load().dict, case .bool(false)? = info["little_endian"] {
            throw FormatError("big-endian checkpoint: not supported")
        }
        let root = try unpickler.load()
        guard case .list(let keyList) = try unpickler.load() else { throw FormatError("legacy checkpoint: no storage key list") }
        var p = unpickler.position
        var storages: [String: Range<Int>] = [:]
        for item in keyList.items {
            guard let key = item.string else { throw FormatError("legacy checkpoint: a storage key is not a string") }
            guard let type = types[key] else { throw FormatError("legacy checkpoint: storage \(key) has no known type") }
            let count = try bytes.u64(p)
            guard count <= UInt64(bytes.count) else { throw FormatError("storage \(key): element count \(count) exceeds the file") }
            let range = try bytes.checkedRange(p + 8, Int(count) * type.byteCount, "storage \(key)")
            storages[key] = range
            p = range.upperBound
        }
        return (root, storages)
    }
}

extension Int {
    func adding(_ other: Int?) -> Int? {
        guard let other else { return nil }
        let (r, o) = addingReportingOverflow(other)
        return o ? nil : r
    }

    func multiplied(by other: Int) -> Int? {
        let (r, o) = multipliedReportingOverflow(by: other)
        return o ? nil : r
    }
}
