import Foundation
import TestSupport
import XCTest

/// The README's module graph is the one `Package.swift` declares, and the layering rules of
/// issue #12 hold: training sees neither ICBHI nor HDF5 nor swift-crypto; the stages read and
/// write formats only through their owners.
final class ArchitectureTests: XCTestCase {
    /// Module -> the modules it uses, from `swift package dump-package` (targets of the products
    /// and libraries; test targets and test-support libraries left out).
    private func declaredGraph() throws -> [String: Set<String>] {
        let scratch = try Fixtures.scratchDirectory("dump-package")
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        // Its own scratch path: the running `swift test` holds the lock on .build.
        let dump = Fixtures.system(["swift", "package", "--package-path", Fixtures.repositoryRoot.path,
                                    "--scratch-path", scratch, "dump-package"])
        XCTAssertEqual(dump.status, 0, dump.output)
        let json = try XCTUnwrap(dump.output.firstIndex(of: "{").map { String(dump.output[$0...]) })
        let package = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        let targets = try XCTUnwrap(package["targets"] as? [[String: Any]])
        var graph: [String: Set<String>] = [:]
        for target in targets {
            guard let name = target["name"] as? String, let type = target["type"] as? String,
                  ["regular", "executable"].contains(type), !name.hasSuffix("TestSupport") else { continue }
            var uses = Set<String>()
            for dependency in target["dependencies"] as? [[String: Any]] ?? [] {
                // {"byName": ["X", null]}, {"product": ["Crypto", "swift-crypto", null, null]}, {"target": [...]}
                if let first = dependency.values.first as? [Any], let used = first.first as? String { uses.insert(used) }
            }
            graph[name] = uses
        }
        return graph
    }

    /// The table in the README's Architecture section: `[layer] module uses...`.
    private func documentedGraph() throws -> [String: Set<String>] {
        let readme = try String(contentsOfFile: Fixtures.repository("README.md"), encoding: .utf8)
        let header = try XCTUnwrap(readme.range(of: "```\nlayer         module           uses\n"), "README: module graph table missing")
        let end = try XCTUnwrap(readme.range(of: "\n```", range: header.upperBound..<readme.endIndex))
        var graph: [String: Set<String>] = [:]
        for line in readme[header.upperBound..<end.lowerBound].split(separator: "\n") {
            let columns = line.components(separatedBy: "  ").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            XCTAssertGreaterThanOrEqual(columns.count, 2, "README module graph: cannot read '\(line)'")
            guard columns.count >= 2 else { continue }
            let uses = columns[columns.count - 1]
            graph[columns[columns.count - 2]] = uses == "-" ? [] : Set(uses.components(separatedBy: ", "))
        }
        return graph
    }

    func testReadmeModuleGraphIsPackageSwifts() throws {
        let declared = try declaredGraph(), documented = try documentedGraph()
        XCTAssertFalse(declared.isEmpty)
        for module in Set(declared.keys).union(documented.keys).sorted() {
            XCTAssertEqual(documented[module], declared[module],
                           "\(module): README says \(documented[module].map { $0.sorted() } ?? []), Package.swift \(declared[module].map { $0.sorted() } ?? [])")
        }
    }

    func testTrainingAndStagesUseFormatsOnlyThroughTheirOwners() throws {
        let declared = try declaredGraph()
        XCTAssertTrue(try XCTUnwrap(declared["Training"]).isDisjoint(with: ["ICBHI", "HDF5", "Crypto", "Manifests"]))
        XCTAssertTrue(try XCTUnwrap(declared["FeatureStore"]).isDisjoint(with: ["ICBHI", "Manifests"]))
        XCTAssertFalse(try XCTUnwrap(declared["PrepKit"]).contains("HDF5"))
        // No source of Training or PrepKit imports HDF5 (or the C library) directly.
        for module in ["Training", "PrepKit"] {
            let root = Fixtures.repository("Sources/" + module)
            let files = try XCTUnwrap(FileManager.default.enumerator(atPath: root)).compactMap { $0 as? String }.filter { $0.hasSuffix(".swift") }
            XCTAssertFalse(files.isEmpty, root)
            for file in files {
                let text = try String(contentsOfFile: root + "/" + file, encoding: .utf8)
                for line in text.split(separator: "\n") where line.hasPrefix("import ") {
                    XCTAssertFalse(["import HDF5", "import CHDF5", "import ICBHI"].contains(String(line)) && module == "Training",
                                   "\(module)/\(file): \(line)")
                    XCTAssertFalse(["import HDF5", "import CHDF5"].contains(String(line)), "\(module)/\(file): \(line)")
                }
            }
        }
    }
}
