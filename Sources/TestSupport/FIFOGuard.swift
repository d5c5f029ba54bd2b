import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Named pipes for "not a regular file" tests. A reader that opens a FIFO waits for a writer
/// forever: these helpers release such a reader by opening the write end once it has waited
/// `seconds`, and say so, so that a regression fails the test instead of hanging it.
public enum FIFOGuard {
    /// A new named pipe at `path`.
    public static func make(_ path: String) throws {
        guard mkfifo(path, 0o644) == 0 else { throw FixtureError("mkfifo \(path): \(String(cString: strerror(errno)))") }
    }

    /// Runs `body` on a thread; true in `hung` when it was still running after `seconds` and had
    /// to be released by a writer on `fifo`.
    public static func run<T: Sendable>(releasing fifo: String, after seconds: Double = 30,
                                        _ body: @escaping @Sendable () -> T) -> (value: T, hung: Bool) {
        let done = DispatchSemaphore(value: 0)
        let box = Box<T>()
        Thread.detachNewThread {
            box.value = body()
            done.signal()
        }
        if done.wait(timeout: .now() + seconds) == .success { return (box.value!, false) }
        // Again until it returns: a writer that comes before the reader's open releases nothing.
        repeat { release(fifo) } while done.wait(timeout: .now() + 0.2) == .timedOut
        return (box.value!, true)
    }

    /// Runs an executable; when it is still running after `seconds`, releases `fifo` and reports it hung.
    public static func run(_ executable: String, _ arguments: [String], releasing fifo: String,
                           after seconds: Double = 30) throws -> (result: ProcessOutput, hung: Bool) {
        let running = try RunningProcess(executableAt: try Fixtures.executable(executable), arguments)
        let deadline = Date().addingTimeInterval(seconds)
        while running.process.isRunning && Date() < deadline { usleep(20_000) }
        let hung = running.process.isRunning
        while running.process.isRunning {
            release(fifo)
            usleep(200_000)
        }
        return (running.finish().result, hung)
    }

    /// Opens and closes the write end: a reader blocked in open(2) returns (and reads EOF).
    private static func release(_ fifo: String) {
        let fd = open(fifo, O_WRONLY | O_NONBLOCK)
        if fd >= 0 { close(fd) }
    }

    private final class Box<T>: @unchecked Sendable {
        var value: T?
    }
}
