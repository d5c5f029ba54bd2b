import CHDF5
#if canImport(Glibc)
import Glibc
#endif

/// An open HDF5 file (wraps `H5Fcreate` / `H5Fopen`; closed by `H5Fclose` on deinit).
/// Paths inside the file are absolute, e.g. `/cycles/fbank`.
public final class HDF5File {
    public enum Mode: Sendable {
        /// Create, truncating any existing file (`H5F_ACC_TRUNC`).
        case create
        case readOnly
        case readWrite
    }

    public let path: String
    let handle: Handle

    /// `alignment` (create only): objects of at least `alignment` bytes start at a multiple of it
    /// (`H5Pset_alignment`), e.g. so that their bytes can be written with `O_DIRECT`.
    public init(path: String, mode: Mode, alignment: Int? = nil) throws {
        silenceLibraryErrorPrinting()
        self.path = path
        let id: hid_t
        switch mode {
        case .create:
            guard let alignment else {
                id = H5Fcreate(path, chdf5_f_acc_trunc(), hid_t(H5P_DEFAULT), hid_t(H5P_DEFAULT))
                break
            }
            let access = Handle(try checkID(H5Pcreate(chdf5_p_file_access()), "H5Pcreate", path), close: H5Pclose)
            try check(H5Pset_alignment(access.id, hsize_t(alignment), hsize_t(alignment)), "H5Pset_alignment", path)
            // Checked before `access` is closed: any HDF5 call clears the error stack.
            id = try checkID(H5Fcreate(path, chdf5_f_acc_trunc(), hid_t(H5P_DEFAULT), access.id), "H5Fcreate", path)
        case .readOnly:
            try Self.refuseNonRegularFile(path)
            // No file lock for readers: HDF5 would flock every file it opens, and feature sets are
            // read by many trainers at once from shared, possibly read-only, file systems where
            // locks are slow, unsupported or refused. Writers publish by rename, so a reader never
            // sees a file being written.
            let access = Handle(try checkID(H5Pcreate(chdf5_p_file_access()), "H5Pcreate", path), close: H5Pclose)
            try check(H5Pset_file_locking(access.id, false, true), "H5Pset_file_locking", path)
            id = H5Fopen(path, chdf5_f_acc_rdonly(), access.id)
            // Captured before `access` is closed: closing it clears the error stack.
            if id < 0 { throw HDF5Error.openFailure(path: path, message: HDF5Error.capture("H5Fopen", path: path).message) }
        case .readWrite:
            try Self.refuseNonRegularFile(path)
            id = H5Fopen(path, chdf5_f_acc_rdwr(), hid_t(H5P_DEFAULT))
            if id < 0 { throw HDF5Error.openFailure(path: path, message: HDF5Error.capture("H5Fopen", path: path).message) }
        }
        handle = Handle(try checkID(id, mode == .create ? "H5Fcreate" : "H5Fopen", path), close: H5Fclose)
    }

    /// Opening a FIFO for reading waits for a writer, forever (HDF5 would): directories, named
    /// pipes, devices and sockets are refused first, by what `stat` says. A missing file is
    /// left to H5Fopen's own error.
    private static func refuseNonRegularFile(_ path: String) throws {
        var info = stat()
        guard stat(path, &info) == 0, (info.st_mode & S_IFMT) != S_IFREG else { return }
        let kind = switch info.st_mode & S_IFMT {
        case S_IFDIR: "a directory"
        case S_IFIFO: "a named pipe"
        case S_IFCHR: "a character device"
        case S_IFBLK: "a block device"
        case S_IFSOCK: "a socket"
        default: "an unusual kind of file"
        }
        throw HDF5Error(function: "stat", path: path, message: "not a regular file", cause: "not a regular file (\(kind)), not an HDF5 file")
    }

    /// Flushes HDF5's buffers to the OS (`H5Fflush`); durability needs an fsync on top.
    public func flush() throws {
        silenceLibraryErrorPrinting()
        try check(H5Fflush(handle.id, H5F_SCOPE_GLOBAL), "H5Fflush", path)
    }

    // MARK: Structure

    /// Whether a link exists at `path` (every intermediate group must exist too).
    public func contains(_ objectPath: String) -> Bool {
        silenceLibraryErrorPrinting()
        var prefix = ""
        for component in objectPath.split(separator: "/") {
            prefix += "/" + component
            if H5Lexists(handle.id, prefix, hid_t(H5P_DEFAULT)) <= 0 { return false }
        }
        return true
    }

    /// Creates a group (`H5Gcreate2`), and any missing parents.
    public func createGroup(_ groupPath: String) throws {
        silenceLibraryErrorPrinting()
        var prefix = ""
        for component in groupPath.split(separator: "/") {
            prefix += "/" + component
            if H5Lexists(handle.id, prefix, hid_t(H5P_DEFAULT)) > 0 { continue }
            let plist = Handle(try checkID(H5Pcreate(chdf5_p_group_create()), "H5Pcreate", path), close: H5Pclose)
            // No modification times in the file: same inputs must give bit-identical files.
            try check(H5Pset_obj_track_times(plist.id, false), "H5Pset_obj_track_times", path)
            let id = try checkID(H5Gcreate2(handle.id, prefix, hid_t(H5P_DEFAULT), plist.id, hid_t(H5P_DEFAULT)),
                                 "H5Gcreate2", "\(path):\(prefix)")
            H5Gclose(id)
        }
    }

    /// Names of the direct children of a group, in HDF5's name order (`H5Literate`).
    public func children(of groupPath: String) throws -> [String] {
        silenceLibraryErrorPrinting()
        let group = try checkID(H5Gopen2(handle.id, groupPath, hid_t(H5P_DEFAULT)), "H5Gopen2", "\(path):\(groupPath)")
        defer { H5Gclose(group) }
        var names: [String] = []
        var index: hsize_t = 0
        try withUnsafeMutablePointer(to: &names) { box in
            try check(H5Literate(group, H5_INDEX_NAME, H5_ITER_INC, &index, { _, name, _, context in
                guard let name, let context else { return 0 }
                context.assumingMemoryBound(to: [String].self).pointee.append(String(cString: name))
                return 0
            }, box), "H5Literate", "\(path):\(groupPath)")
        }
        return names
    }

    // MARK: Datasets

    /// Creates a dataset of `T` with a fixed shape; write it row by row with `Dataset.write`.
    public func createDataset<T: HDF5Scalar>(
        _ datasetPath: String, of _: T.Type, shape: [Int], options: DatasetOptions = .init()
    ) throws -> Dataset {
        silenceLibraryErrorPrinting()
        let type = Handle(try checkID(H5Tcopy(T.nativeType), "H5Tcopy", path), close: H5Tclose)
        return try createDataset(datasetPath, type: type, shape: shape, options: options)
    }

    /// Creates and fills a numeric dataset in one call.
    public func write<T: HDF5Scalar>(
        _ values: [T], shape: [Int], to datasetPath: String, options: DatasetOptions = .init()
    ) throws {
        precondition(shape.reduce(1, *) == values.count, "shape \(shape) does not hold \(values.count) values")
        let dataset = try createDataset(datasetPath, of: T.self, shape: shape, options: options)
        try dataset.writeAll(values)
    }

    /// Creates a 1-D dataset of fixed-length UTF-8 strings (NUL-padded to the longest value).
    public func write(strings: [String], to datasetPath: String) throws {
        silenceLibraryErrorPrinting()
        let length = strings.map(\.utf8.count).max() ?? 1
        let type = try fixedStringType(length: length)
        let dataset = try createDataset(datasetPath, type: type, shape: [strings.count], options: .init())
        var buffer = [UInt8](repeating: 0, count: max(1, length) * strings.count)
        for (row, string) in strings.enumerated() {
            for (offset, byte) in string.utf8.enumerated() { buffer[row * max(1, length) + offset] = byte }
        }
        try buffer.withUnsafeBytes { raw in
            try check(H5Dwrite(dataset.handle.id, type.id, chdf5_s_all(), chdf5_s_all(), hid_t(H5P_DEFAULT), raw.baseAddress),
                      "H5Dwrite", dataset.description)
        }
    }

    /// Opens an existing dataset (`H5Dopen2`).
    public func dataset(_ datasetPath: String) throws -> Dataset {
        silenceLibraryErrorPrinting()
        let id = try checkID(H5Dopen2(handle.id, datasetPath, hid_t(H5P_DEFAULT)), "H5Dopen2", "\(path):\(datasetPath)")
        return try Dataset(handle: Handle(id, close: H5Dclose), file: path, name: datasetPath)
    }

    /// Reads a whole numeric dataset, converted to `T` by HDF5.
    public func read<T: HDF5Scalar>(_ datasetPath: String, as _: T.Type = T.self) throws -> ([T], shape: [Int]) {
        let dataset = try dataset(datasetPath)
        return (try dataset.readAll(as: T.self), dataset.shape)
    }

    /// Reads a 1-D dataset of strings (fixed-length or variable-length).
    public func readStrings(_ datasetPath: String) throws -> [String] {
        try dataset(datasetPath).readStrings()
    }

    private func createDataset(
        _ datasetPath: String, type: Handle, shape: [Int], options: DatasetOptions
    ) throws -> Dataset {
        let location = "\(path):\(datasetPath)"
        if let slash = datasetPath.lastIndex(of: "/"), slash != datasetPath.startIndex {
            try createGroup(String(datasetPath[..<slash]))
        }
        let dims = shape.map { hsize_t($0) }
        let space = Handle(try checkID(H5Screate_simple(Int32(dims.count), dims, nil), "H5Screate_simple", location),
                           close: H5Sclose)
        let plist = Handle(try checkID(H5Pcreate(chdf5_p_dataset_create()), "H5Pcreate", location), close: H5Pclose)
        if let chunks = options.chunks, !shape.contains(0) {
            precondition(chunks.count == shape.count, "chunk rank must match the dataset rank")
            let chunkDims = zip(chunks, shape).map { hsize_t(min($0, $1)) }
            try check(H5Pset_chunk(plist.id, Int32(chunkDims.count), chunkDims), "H5Pset_chunk", location)
            if options.deflateLevel > 0 {
                try check(H5Pset_shuffle(plist.id), "H5Pset_shuffle", location)
                try check(H5Pset_deflate(plist.id, UInt32(options.deflateLevel)), "H5Pset_deflate", location)
            }
        }
        // Deterministic files: no fill-time timestamps, fill values written only where asked.
        try check(H5Pset_obj_track_times(plist.id, false), "H5Pset_obj_track_times", location)
        if options.allocatedAtCreation {
            try check(H5Pset_alloc_time(plist.id, H5D_ALLOC_TIME_EARLY), "H5Pset_alloc_time", location)
            try check(H5Pset_fill_time(plist.id, H5D_FILL_TIME_NEVER), "H5Pset_fill_time", location)
        }
        let id = try checkID(H5Dcreate2(handle.id, datasetPath, type.id, space.id, hid_t(H5P_DEFAULT), plist.id, hid_t(H5P_DEFAULT)),
                             "H5Dcreate2", location)
        return try Dataset(handle: Handle(id, close: H5Dclose), file: path, name: datasetPath)
    }
}

/// How a dataset is laid out on disk.
public struct DatasetOptions: Sendable {
    /// Chunk shape (nil: contiguous). One row per chunk lets readers fetch a row cheaply.
    public var chunks: [Int]?
    /// 0 = no compression; 1-9 = shuffle + deflate at that level (needs `chunks`).
    public var deflateLevel: Int

    /// Space allocated when the dataset is created and never filled: with contiguous storage its
    /// bytes then have a fixed place in the file (`Dataset.fileOffset`) before any value is written.
    public var allocatedAtCreation: Bool

    public init(chunks: [Int]? = nil, deflateLevel: Int = 0, allocatedAtCreation: Bool = false) {
        self.chunks = chunks
        self.deflateLevel = deflateLevel
        self.allocatedAtCreation = allocatedAtCreation
    }
}
