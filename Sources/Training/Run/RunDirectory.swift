import Durability
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The directory a run writes into (`--output`, or a sweep's run directory), held under its
/// `.lock` for as long as the run goes on. The only place a run writes: never a path read from
/// a file (a checkpoint's meta names the directory it was written in, which says nothing about
/// where the run is now).
final class RunDirectory {
    let path: String
    private var lock: CacheLock?
    /// What this process created: the topmost directory (nil: `path` existed) and the lock file.
    private let createdDirectory: String?
    private let createdLockFile: Bool

    var lockPath: String { (path as NSString).appendingPathComponent(".lock") }

    /// Creates `path` (and missing parents) and takes its lock; errors in the user's terms.
    init(_ path: String, purpose: String = "train") throws(TrainingError) {
        self.path = path
        createdDirectory = try Self.create(path)
        let lockPath = (path as NSString).appendingPathComponent(".lock") // self is not whole yet
        createdLockFile = !FileManager.default.fileExists(atPath: lockPath)
        do throws(TrainingError) {
            // access(2) says EROFS / EACCES for the directory itself (`--output` a read-only mount),
            // which the lock's open would only report as a failure to open `.lock`.
            if access(path, W_OK) != 0 {
                let reason = switch errno {
                case EROFS: "it is on a read-only file system"
                case EACCES: "no permission to write in it"
                default: String(cString: strerror(errno))
                }
                throw .runDirectory("cannot write in the run directory \(path): \(reason)")
            }
            do {
                lock = try CacheLock(path: lockPath, purpose: purpose)
            } catch StoreError.locked(_, let holder) {
                throw .runLocked(directory: path, holder: holder)
            } catch {
                throw .runDirectory("cannot lock the run directory \(path): \(error)")
            }
        } catch {
            Self.removeEmpty(from: path, upTo: createdDirectory)
            throw error
        }
    }

    /// After a failed start: removes the lock file if this process created it, then the
    /// directories it created if they are empty (a failed `--init` leaves nothing, a refused
    /// `--resume` the run as it was), and lets the lock go.
    func discardIfUnused() {
        if createdLockFile { try? FileManager.default.removeItem(atPath: lockPath) }
        lock = nil
        Self.removeEmpty(from: path, upTo: createdDirectory)
    }

    /// rmdir(2) (which only removes empty directories) from `path` up to `top`, the topmost one
    /// this process created (nil: none).
    private static func removeEmpty(from path: String, upTo top: String?) {
        guard let top else { return }
        var current = path
        while rmdir(current) == 0, current != top {
            current = (current as NSString).deletingLastPathComponent
        }
    }

    /// Creates `path` and its missing parents with mkdir(2); returns the topmost one created (nil
    /// when `path` already was a directory).
    private static func create(_ path: String) throws(TrainingError) -> String? {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) {
            guard isDirectory.boolValue else {
                throw .runDirectory("cannot use \(path) as the run directory: it is a file, not a directory")
            }
            return nil
        }
        // The missing components, from the deepest existing ancestor down.
        var missing: [String] = []
        var current = path
        while !current.isEmpty && current != "/" && !FileManager.default.fileExists(atPath: current, isDirectory: &isDirectory) {
            missing.append(current)
            let parent = (current as NSString).deletingLastPathComponent
            if parent == current { break }
            current = parent
        }
        if !current.isEmpty && !isDirectory.boolValue && FileManager.default.fileExists(atPath: current) {
            throw .runDirectory("cannot create the run directory \(path): \(current) is a file, not a directory")
        }
        for (k, directory) in missing.enumerated().reversed() where mkdir(directory, 0o755) != 0 && errno != EEXIST {
            let error = errno
            for made in missing[(k + 1)...] { rmdir(made) }
            let parent = (directory as NSString).deletingLastPathComponent
            let place = parent.isEmpty ? "the working directory" : parent
            let reason = switch error {
            case EROFS: "\(place) is on a read-only file system"
            case EACCES: "no permission to write in \(place)"
            case ENOSPC: "no space left on the device of \(place)"
            default: String(cString: strerror(error))
            }
            throw .runDirectory("cannot create the run directory \(path): \(reason)")
        }
        return missing.last
    }
}
