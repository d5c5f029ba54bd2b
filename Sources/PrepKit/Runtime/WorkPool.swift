import Foundation

/// Runs `body` for indices 0..<count on `jobs` threads, each pulling the next index, and
/// returns the results in index order: the output does not depend on `jobs`.
func runInParallel<Result: Sendable>(
    count: Int, jobs: Int, _ body: @Sendable @escaping (Int) -> Result
) -> [Result] {
    let slots = ResultSlots<Result>(count: count)
    DispatchQueue.concurrentPerform(iterations: max(1, min(jobs, count))) { _ in
        while let index = slots.take() {
            slots.store(body(index), at: index)
        }
    }
    return slots.results.map { $0! }
}

/// Runs `first` on this thread while `second` runs on another (one after the other when
/// `jobs` is 1) and returns both results.
func runBoth<First, Second: Sendable>(jobs: Int, _ first: () -> First, _ second: @Sendable @escaping () -> Second) -> (First, Second) {
    guard jobs > 1 else { return (first(), second()) }
    let slot = ResultSlots<Second>(count: 1)
    let done = DispatchGroup()
    DispatchQueue.global().async(group: done) { slot.store(second(), at: 0) }
    let firstResult = first()
    done.wait()
    return (firstResult, slot.results[0]!)
}

/// Results of `runInParallel` and `runBoth`, filled by index under a lock.
private final class ResultSlots<Result>: @unchecked Sendable {
    private let lock = NSLock()
    private var next = 0
    private(set) var results: [Result?]

    init(count: Int) { results = Array(repeating: nil, count: count) }

    func take() -> Int? {
        lock.withLock {
            guard next < results.count else { return nil }
            defer { next += 1 }
            return next
        }
    }

    func store(_ result: Result, at index: Int) { lock.withLock { results[index] = result } }
}
