import CSndFile
import Durability
import Glibc

/// The one owner of an open file descriptor and the `SNDFILE*` libsndfile reads from it;
/// closes both in `deinit`. Internal: ``AudioDecoder`` is the public face.
final class SoundFile {
    let path: String
    let info: SF_INFO
    /// Size of the file in bytes when it was opened.
    let fileBytes: Int
    private let fd: Int32
    private let handle: OpaquePointer

    /// Opens `path` for reading: POSIX `open` and `fstat` (for a system error message that
    /// names the cause), then libsndfile's `sf_open_fd` on the descriptor.
    init(path: String) throws(AudioDecodingError) {
        self.path = path
        var status = stat()
        // Looked at before opening: opening a FIFO for reading waits for a writer, forever.
        if stat(path, &status) == 0, (status.st_mode & S_IFMT) != S_IFREG {
            throw AudioDecodingError(path: path, function: "stat", reason: .notRegularFile(RegularFile.kind(status.st_mode) ?? "a regular file"))
        }
        // O_NONBLOCK: should it have become a FIFO since, open returns and fstat refuses it.
        let fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else {
            throw AudioDecodingError(path: path, function: "open", reason: .unreadable(Self.systemMessage()))
        }
        guard fstat(fd, &status) == 0 else {
            let message = Self.systemMessage()
            close(fd)
            throw AudioDecodingError(path: path, function: "fstat", reason: .unreadable(message))
        }
        guard (status.st_mode & S_IFMT) == S_IFREG else {
            close(fd)
            throw AudioDecodingError(path: path, function: "fstat", reason: .notRegularFile(RegularFile.kind(status.st_mode) ?? "a regular file"))
        }
        guard status.st_size > 0 else {
            close(fd)
            throw AudioDecodingError(path: path, function: "fstat", reason: .emptyFile)
        }
        // ICBHI is RIFF/WAVE only. Anything else is refused before libsndfile sees it: on corrupt
        // input its other format probes (MPEG through libmpg123) print diagnostics to stderr.
        var magic = [UInt8](repeating: 0, count: 12)
        let got = magic.withUnsafeMutableBytes { pread(fd, $0.baseAddress, 12, 0) }
        let riff = got == 12 && ["RIFF", "RIFX", "RF64"].contains(String(decoding: magic[0..<4], as: UTF8.self))
            && String(decoding: magic[8..<12], as: UTF8.self) == "WAVE"
        guard riff else {
            close(fd)
            throw AudioDecodingError(path: path, function: "open", reason: .unrecognisedFormat("not a RIFF/WAVE file"))
        }
        var info = SF_INFO()
        // close_desc false: this object owns the descriptor and closes it after sf_close.
        guard let handle = sf_open_fd(fd, Int32(SFM_READ), &info, 0) else {
            let message = AudioDecodingError.plainWords(libsndfile: String(cString: sf_strerror(nil)))
            close(fd)
            throw AudioDecodingError(path: path, function: "sf_open_fd", reason: .unrecognisedFormat(message))
        }
        self.fd = fd
        self.handle = handle
        self.info = info
        self.fileBytes = Int(status.st_size)
    }

    deinit {
        sf_close(handle)
        close(fd)
    }

    /// The descriptor, for `pread`-based header checks (which leave its offset alone).
    var descriptor: Int32 { fd }

    /// `sf_readf_int`: up to `frames` frames of interleaved samples, each integer PCM sample
    /// left-justified in 32 bits (16-bit `x` gives `x << 16`). Returns frames read.
    func readFrames(into buffer: UnsafeMutablePointer<Int32>, frames: Int) -> Int {
        Int(sf_readf_int(handle, buffer, sf_count_t(frames)))
    }

    /// `sf_readf_float`: up to `frames` frames of interleaved samples as libsndfile's
    /// normalised floats. Returns frames read.
    func readFrames(into buffer: UnsafeMutablePointer<Float>, frames: Int) -> Int {
        Int(sf_readf_float(handle, buffer, sf_count_t(frames)))
    }

    /// `sf_seek` to frame `frame` from the start (SEEK_SET); false when libsndfile refuses.
    func seek(toFrame frame: Int) -> Bool {
        sf_seek(handle, sf_count_t(frame), SEEK_SET) == sf_count_t(frame)
    }

    /// `sf_error` / `sf_strerror` for this file: nil when libsndfile reports no error.
    var lastError: String? {
        sf_error(handle) == 0 ? nil : String(cString: sf_strerror(handle))
    }

    private static func systemMessage() -> String { String(cString: strerror(errno)) }
}
