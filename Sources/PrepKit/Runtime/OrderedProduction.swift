import Foundation

/// Computes items 0..<count on `jobs` worker threads while the calling thread consumes them
/// strictly in order, at most `window` items ahead of the consumer (bounded memory). The
/// consumer's output therefore never depends on `jobs`. The first error stops both sides.
func produceInOrder<Item: Sendable>(
    count: Int, jobs: Int, window: Int,
    produce: @escaping @Sendable (Int) throws -> Item,
    consume: (Int, Item) throws -> Void
) throws {
    let state = ProductionState<Item>()
    let workers = max(1, min(jobs, count))
    state.running = workers
    for _ in 0..<workers {
        Thread.detachNewThread {
            while true {
                state.condition.lock()
                while state.failure == nil && state.nextToClaim < count && state.nextToClaim >= state.consumed + window {
                    state.condition.wait()
                }
                guard state.failure == nil, state.nextToClaim < count else {
                    state.running -= 1
                    state.condition.broadcast()
                    state.condition.unlock()
                    return
                }
                let index = state.nextToClaim
                state.nextToClaim += 1
                state.condition.unlock()
                do {
                    let item = try produce(index)
                    state.condition.lock()
                    state.ready[index] = item
                } catch {
                    state.condition.lock()
                    if state.failure == nil { state.failure = error }
                }
                state.condition.broadcast()
                state.condition.unlock()
            }
        }
    }
    defer {
        // Stop and join the workers whatever happened (they never outlive this call).
        state.condition.lock()
        if state.consumed < count, state.failure == nil { state.failure = CancellationError() }
        state.condition.broadcast()
        while state.running > 0 { state.condition.wait() }
        state.condition.unlock()
    }
    for index in 0..<count {
        state.condition.lock()
        while state.ready[index] == nil && state.failure == nil { state.condition.wait() }
        if let failure = state.failure {
            state.condition.unlock()
            throw failure
        }
        let item = state.ready.removeValue(forKey: index)!
        state.condition.unlock()
        try consume(index, item)
        state.condition.lock()
        state.consumed = index + 1
        state.condition.broadcast()
        state.condition.unlock()
    }
}

/// Shared between `produceInOrder`'s workers and consumer; every field is guarded by `condition`.
private final class ProductionState<Item>: @unchecked Sendable {
    let condition = NSCondition()
    var nextToClaim = 0
    var consumed = 0
    var ready: [Int: Item] = [:]
    var failure: Error?
    var running = 0
}
