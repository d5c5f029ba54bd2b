import Foundation
import TestSupport
@testable import TorchCheckpoint
import XCTest

/// Issue #20: a pickle may nest containers as deep as it has bytes. Before, 50,000 nested lists
/// crashed the process (exit 139, stack overflow in the recursive deinit of `PickleList`).
/// Each test here crashed the test process before the fix.
final class NestingTests: XCTestCase {
    private var directory = ""

    override func setUpWithError() throws { directory = try Fixture.temporaryDirectory() }
    override func tearDown() { try? FileManager.default.removeItem(atPath: directory) }

    /// Refused with one message naming the file and the limit, never a crash.
    private func assertRefused(_ pickle: [UInt8], _ name: String, mentions: String,
                               file: StaticString = #filePath, line: UInt = #line) throws {
        let path = directory + "/" + name + ".pth"
        try PickleFixtures.writeCheckpoint(pickle: pickle, to: path)
        let started = Date()
        XCTAssertThrowsError(try TorchCheckpoint(path: path), file: file, line: line) { error in
            let text = "\(error)"
            XCTAssertTrue(text.hasPrefix(path + ": ") && text.contains(mentions) && text.contains("\(PickleNesting.limit)"), text, file: file, line: line)
            XCTAssertFalse(text.contains("\n"), text, file: file, line: line)
            print("\(name): refused in \(String(format: "%.3f", Date().timeIntervalSince(started))) s: \(text)")
        }
    }

    /// The issue's exact payload, and deeper.
    func testDeeplyNestedListsAreRefused() throws {
        for depth in [50_000, 1_000_000] {
            try assertRefused(PickleFixtures.nestedLists(depth: depth), "lists-\(depth)", mentions: "nested more than")
        }
    }

    /// Tuples are freed by Swift's runtime, recursively: refused as they are built.
    func testDeeplyNestedTuplesAreRefused() throws {
        try assertRefused(PickleFixtures.nestedTuples(depth: 50_000), "tuples", mentions: "tuples nested more than")
    }

    /// A chain linked through the memo after each list was placed: depth cannot be counted as
    /// values are built, only measured on the result.
    func testChainLinkedThroughTheMemoIsRefused() throws {
        try assertRefused(PickleFixtures.memoLinkedLists(depth: 50_000), "memo-chain", mentions: "nested more than")
    }

    /// The limit itself is accepted (and its values freed); one more level is not.
    func testTheLimitIsExact() throws {
        let limit = PickleNesting.limit
        let path = directory + "/at-limit.pth"
        try PickleFixtures.writeCheckpoint(pickle: PickleFixtures.nestedLists(depth: limit), to: path)
        let file = try TorchCheckpoint(path: path)
        XCTAssertEqual(try PickleNesting.depth(of: file.root), limit)
        try assertRefused(PickleFixtures.nestedLists(depth: limit + 1), "over-limit", mentions: "nested more than")
        try PickleFixtures.writeCheckpoint(pickle: PickleFixtures.nestedTuples(depth: limit), to: path)
        XCTAssertEqual(try PickleNesting.depth(of: TorchCheckpoint(path: path).root), limit)
        try assertRefused(PickleFixtures.nestedTuples(depth: limit + 1), "tuples-over-limit", mentions: "tuples nested more than")
    }

    /// Values built in memory far past the limit (lists, dicts, objects, tuples between them)
    /// are freed without recursion wherever the last reference goes.
    func testDeepValuesAreFreedWithoutRecursion() {
        let depth = 1_000_000
        var value = PickleValue.none
        for i in 0..<depth {
            switch i % 4 {
            case 0:
                let l = PickleList()
                l.items = [value, .int(Int64(i))]
                value = .list(l)
            case 1:
                let d = PickleDict()
                d.set(.string("k"), value)
                value = .dict(d)
            case 2:
                value = .tuple([value])
            default:
                let o = PickleObject(className: "x.Y", arguments: [value])
                value = .object(o)
            }
        }
        // Shared, then dropped twice: only the last release frees anything.
        var copies = [value, value]
        value = .none
        copies.removeAll()
        XCTAssertTrue(copies.isEmpty)
    }

    /// A list that contains itself (legal in Python) is measured without looping forever.
    func testCycleIsMeasuredOnce() throws {
        let loop = PickleList()
        loop.items = [.list(loop)]
        XCTAssertEqual(try PickleNesting.depth(of: .list(loop)), 1)
        loop.items = []   // break the cycle, or it is never freed
    }

    /// Deep DAGs through the memo (each level holds the one below twice) are measured once per
    /// container, not once per path (2^60 paths here).
    func testSharedValuesAreMeasuredOnce() throws {
        var value = PickleValue.int(1)
        for _ in 0..<60 { value = .tuple([value, value]) }
        XCTAssertEqual(try PickleNesting.depth(of: value), 60)
        var list = PickleList()
        for _ in 0..<60 {
            let next = PickleList()
            next.items = [.list(list), .list(list)]
            list = next
        }
        XCTAssertEqual(try PickleNesting.depth(of: .list(list)), 61)
    }
}
