import Foundation
import TestSupport
import XCTest

/// The module graph documented in docs/architecture.md is the one `Package.swift` declares, every
/// target imports exactly the package modules it declares, and the layering rules of issue #12
/// hold: training sees neither ICBHI nor HDF5 nor swift-crypto; the stages read and write formats
/// only through their owners.
final class ArchitectureTests: XCTestCase {
    /// One target as `swift package dump-package` declares it.
    private struct DeclaredTarget {
        var name: String
        var type: String
        var directory: String
        var uses: Set<String>
    }

    /// Every target of the package, test targets included.
    private func declaredTargets() throws -> [DeclaredTarget] {
        let scratch = try Fixtures.scratchDirectory("dump-package")
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        // Its own scratch path: the running `swift test` holds the lock on .build.
        let dump = Fixtures.system(["swift", "package", "--package-path", Fixtures.repositoryRoot.path,
                                    "--scratch-path", scratch, "dump-package"])
        XCTAssertEqual(dump.status, 0, dump.output)
        let json = try XCTUnwrap(dump.output.firstIndex(of: "{").map { String(dump.output[$0...]) })
        let package = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        let targets = try XCTUnwrap(package["targets"] as? [[String: Any]])
        return try targets.map { target in
            let name = try XCTUnwrap(target["name"] as? String), type = try XCTUnwrap(target["type"] as? String)
            var uses = Set<String>()
            for dependency in target["dependencies"] as? [[String: Any]] ?? [] {
                // {"byName": ["X", null]}, {"product": ["Crypto", "swift-crypto", null, null]}, {"target": [...]}
                if let first = dependency.values.first as? [Any], let used = first.first as? String { uses.insert(used) }
            }
            let directory = target["path"] as? String ?? (type == "test" ? "Tests/" : "Sources/") + name
            return DeclaredTarget(name: name, type: type, directory: directory, uses: uses)
        }
    }

    /// Module -> the modules it uses, for the targets of the products and libraries (test targets
    /// and test-support libraries left out).
    private func declaredGraph() throws -> [String: Set<String>] {
        var graph: [String: Set<String>] = [:]
        for target in try declaredTargets()
        where ["regular", "executable"].contains(target.type) && !target.name.hasSuffix("TestSupport") {
            graph[target.name] = target.uses
        }
        return graph
    }

    /// The modules a target's Swift files import (`import X`, `@testable import X`, `public import X`, ...).
    private func importedModules(in directory: String) throws -> Set<String>? {
        let root = Fixtures.repository(directory)
        guard let enumerator = FileManager.default.enumerator(atPath: root) else { return nil }
        let files = enumerator.compactMap { $0 as? String }.filter { $0.hasSuffix(".swift") }
        guard !files.isEmpty else { return nil }
        let pattern = try NSRegularExpression(pattern: #"^(?:@[A-Za-z_]+ )*(?:(?:public|package|internal|fileprivate|private) )?import (?:(?:struct|class|enum|protocol|func|var|let|typealias) )?([A-Za-z_][A-Za-z_0-9]*)"#,
                                              options: [.anchorsMatchLines])
        var modules = Set<String>()
        for file in files {
            let text = try String(contentsOfFile: root + "/" + file, encoding: .utf8)
            for match in pattern.matches(in: text, range: NSRange(text.startIndex..., in: text)) {
                if let range = Range(match.range(at: 1), in: text) { modules.insert(String(text[range])) }
            }
        }
        return modules
    }

    /// The table in docs/architecture.md: `[layer] module uses...`.
    private func documentedGraph() throws -> [String: Set<String>] {
        let readme = try String(contentsOfFile: Fixtures.repository("docs/architecture.md"), encoding: .utf8)
        let header = try XCTUnwrap(readme.range(of: "```\nlayer         module           uses\n"), "docs/architecture.md: module graph table missing")
        let end = try XCTUnwrap(readme.range(of: "\n```", range: header.upperBound..<readme.endIndex))
        var graph: [String: Set<String>] = [:]
        for line in readme[header.upperBound..<end.lowerBound].split(separator: "\n") {
            let columns = line.components(separatedBy: "  ").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            XCTAssertGreaterThanOrEqual(columns.count, 2, "docs/architecture.md module graph: cannot read '\(line)'")
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
                           "\(module): docs/architecture.md says \(documented[module].map { $0.sorted() } ?? []), Package.swift \(declared[module].map { $0.sorted() } ?? [])")
        }
    }

    /// Every Swift target (test targets too) imports exactly the package modules Package.swift
    /// declares for it: an undeclared import builds only by accident of the build order, an unused
    /// declaration is a dependency the graph shows but the code does not have.
    func testEveryTargetImportsExactlyWhatItDeclares() throws {
        let targets = try declaredTargets()
        // The modules a target could import from this package: its targets and the products it uses.
        let packageModules = Set(targets.map(\.name)).union(targets.flatMap(\.uses))
        // A test target may depend on an executable so that its binary is built first; nothing imports one.
        let executables = Set(targets.filter { $0.type == "executable" }.map(\.name))
        var checked = 0
        for target in targets where target.type != "system" {
            guard let imported = try importedModules(in: target.directory) else { continue }
            checked += 1
            let used = imported.intersection(packageModules).subtracting([target.name])
            XCTAssertEqual(used.subtracting(target.uses).sorted(), [],
                           "\(target.name) imports modules Package.swift does not declare for it")
            XCTAssertEqual(target.uses.subtracting(used).subtracting(executables).sorted(), [],
                           "\(target.name) declares dependencies it never imports")
        }
        XCTAssertGreaterThan(checked, 20, "too few Swift targets found: is the package layout readable?")
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
