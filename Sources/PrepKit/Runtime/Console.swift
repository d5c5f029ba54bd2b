import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Where a command's human output goes. Progress lines are drawn in place on a terminal only;
/// in logs (stderr not a TTY) they are dropped so that logs stay quiet.
public final class Console: @unchecked Sendable {
    private let lock = NSLock()
    private let interactive: Bool
    private var lastDraw = Date.distantPast
    private var progressShown = false
    public var quiet = false

    public init(interactive: Bool = isatty(STDERR_FILENO) == 1) {
        self.interactive = interactive
    }

    /// A line of normal output (stdout).
    public func say(_ line: String) {
        lock.withLock {
            clearProgress()
            if !quiet { FileHandle.standardOutput.write(Data((line + "\n").utf8)) }
        }
    }

    /// A warning or error line (stderr).
    public func warn(_ line: String) {
        lock.withLock {
            clearProgress()
            FileHandle.standardError.write(Data((line + "\n").utf8))
        }
    }

    /// Redraws the progress line, at most ten times a second.
    public func progress(_ label: String, done: Int, total: Int, detail: String = "") {
        guard interactive, !quiet else { return }
        lock.withLock {
            let now = Date()
            guard done == total || now.timeIntervalSince(lastDraw) > 0.1 else { return }
            lastDraw = now
            let percent = total > 0 ? done * 100 / total : 100
            let line = "\r\u{1B}[2K\(label) \(done)/\(total) (\(percent)%) \(detail)"
            FileHandle.standardError.write(Data(line.utf8))
            progressShown = true
        }
    }

    /// Ends the progress line so the next output starts on a fresh line.
    public func finishProgress() {
        lock.withLock { clearProgress() }
    }

    private func clearProgress() {
        if progressShown {
            FileHandle.standardError.write(Data("\r\u{1B}[2K".utf8))
            progressShown = false
        }
    }
}
