import Foundation

/// Finds the vendored ICBHI metadata (`manifests/icbhi`): in the working directory, else next to
/// the repository the binary was built in (`.build/<config>/prep` -> `../../manifests/icbhi`).
public enum MetadataLocation {
    public static func `default`() -> String {
        let local = "manifests/icbhi"
        if FileManager.default.fileExists(atPath: local + "/official_split.txt") { return local }
        let executable = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        var directory = executable.deletingLastPathComponent()
        for _ in 0..<4 {
            let candidate = directory.appendingPathComponent("manifests/icbhi")
            if FileManager.default.fileExists(atPath: candidate.appendingPathComponent("official_split.txt").path) {
                return candidate.path
            }
            directory = directory.deletingLastPathComponent()
        }
        return local
    }
}
