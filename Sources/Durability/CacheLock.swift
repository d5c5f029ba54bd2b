import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// An exclusive advisory lock (`flock`) on a file inside a cache directory, so that two runs
/// never write the same outputs at once. The kernel drops it when the process dies (kill -9 too).
public final class CacheLock {
    public let path: String
    private let descriptor: Int32

    /// Takes the lock, waiting up to `timeout` seconds (0: refuse at once if held).
    public init(path: String, purpose: String, timeout: Double = 0, onWait: (() -> Void)? = nil) throws {
        self.path = path
        descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            throw StoreError.io(path: path, reason: "cannot open lock file: \(String(cString: strerror(errno)))")
        }
        let deadline = Date().addingTimeInterval(timeout)
        var announced = false
        while flock(descriptor, LOCK_EX | LOCK_NB) != 0 {
            guard errno == EWOULDBLOCK, Date() < deadline else {
                let holder = (try? String(contentsOfFile: path, encoding: .utf8))?
                    .trimmingCharacters(in: .whitespacesAndNewlines) ?? "unknown"
                close(descriptor)
                throw StoreError.locked(path: path, holder: holder.isEmpty ? "unknown" : holder)
            }
            if !announced { onWait?(); announced = true }
            usleep(100_000)
        }
        let note = "pid \(getpid()): \(purpose)\n"
        ftruncate(descriptor, 0)
        _ = note.withCString { write(descriptor, $0, strlen($0)) }
    }

    deinit {
        ftruncate(descriptor, 0)
        flock(descriptor, LOCK_UN)
        close(descriptor)
    }
}
