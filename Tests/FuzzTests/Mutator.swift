import Foundation
import Synthesis

/// A small seeded mutator for property-based fuzzing without an external engine: bit flips,
/// byte and integer overwrites with boundary values, truncations, insertions, deletions,
/// duplicated ranges, splices and dictionary tokens. Deterministic for a seed.
struct Mutator {
    /// SplitMix64 (Synthesis's): tiny, fast, good enough for choosing mutations.
    typealias Generator = SplitMix64

    var random: Generator
    /// Tokens inserted or overwritten verbatim (format keywords, tricky Unicode).
    let dictionary: [[UInt8]]

    init(seed: UInt64, dictionary: [[UInt8]] = []) {
        random = Generator(seed: seed)
        self.dictionary = dictionary
    }

    static let interestingBytes: [UInt8] = [0x00, 0x01, 0x7F, 0x80, 0xFF, 0x20, 0x09, 0x0A, 0x0D, 0x2E, 0x2D, 0x5F]
    static let interestingInt32: [UInt32] = [0, 1, 2, 0x7F, 0x80, 0xFF, 0x100, 0x7FFF, 0x8000, 0xFFFF, 0x10000,
                                             0x7FFF_FFFF, 0x8000_0000, 0xFFFF_FFFF, 0xFFFF_FFFE, 44100, 16000, 4000, 1024]

    /// One input made from `seed` by 1 to `maxMutations` stacked mutations.
    mutating func mutate(_ seed: [UInt8], maxMutations: Int = 4, others: [[UInt8]] = []) -> [UInt8] {
        var bytes = seed
        let count = Int.random(in: 1...maxMutations, using: &random)
        for _ in 0..<count { mutateOnce(&bytes, others: others) }
        return bytes
    }

    private mutating func position(in bytes: [UInt8]) -> Int {
        bytes.isEmpty ? 0 : Int.random(in: 0..<bytes.count, using: &random)
    }

    private mutating func mutateOnce(_ bytes: inout [UInt8], others: [[UInt8]]) {
        switch Int.random(in: 0..<11, using: &random) {
        case 0 where !bytes.isEmpty:                       // flip one bit
            let i = position(in: bytes)
            bytes[i] ^= 1 << UInt8.random(in: 0..<8, using: &random)
        case 1 where !bytes.isEmpty:                       // random byte
            bytes[position(in: bytes)] = UInt8.random(in: 0...255, using: &random)
        case 2 where !bytes.isEmpty:                       // boundary byte
            bytes[position(in: bytes)] = Self.interestingBytes.randomElement(using: &random)!
        case 3 where bytes.count >= 4:                     // boundary little-endian 32-bit integer
            let i = Int.random(in: 0...(bytes.count - 4), using: &random)
            var value = Self.interestingInt32.randomElement(using: &random)!
            if Bool.random(using: &random) { value = value &+ UInt32(bitPattern: Int32.random(in: -3...3, using: &random)) }
            for k in 0..<4 { bytes[i + k] = UInt8((value >> (8 * UInt32(k))) & 0xFF) }
        case 4:                                            // truncate
            bytes.removeLast(bytes.isEmpty ? 0 : Int.random(in: 0...bytes.count, using: &random) / (Bool.random(using: &random) ? 1 : 16))
        case 5:                                            // insert random bytes
            let insert = (0..<Int.random(in: 1...16, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }
            bytes.insert(contentsOf: insert, at: position(in: bytes))
        case 6 where !bytes.isEmpty:                       // delete a range
            let i = position(in: bytes)
            bytes.removeSubrange(i..<min(bytes.count, i + Int.random(in: 1...64, using: &random)))
        case 7 where !bytes.isEmpty:                       // duplicate a range
            let i = position(in: bytes)
            let piece = Array(bytes[i..<min(bytes.count, i + Int.random(in: 1...64, using: &random))])
            bytes.insert(contentsOf: piece, at: position(in: bytes))
        case 8 where !dictionary.isEmpty:                  // insert a dictionary token
            bytes.insert(contentsOf: dictionary.randomElement(using: &random)!, at: position(in: bytes))
        case 9 where !dictionary.isEmpty && !bytes.isEmpty: // overwrite with a dictionary token
            let token = dictionary.randomElement(using: &random)!
            let i = position(in: bytes)
            bytes.replaceSubrange(i..<min(bytes.count, i + token.count), with: token)
        case 10 where !others.isEmpty:                     // splice with another seed
            let other = others.randomElement(using: &random)!
            let cut = position(in: bytes), from = other.isEmpty ? 0 : Int.random(in: 0..<other.count, using: &random)
            bytes = Array(bytes[..<cut]) + Array(other[from...])
        default:
            if !bytes.isEmpty { bytes[position(in: bytes)] &+= 1 }
        }
    }
}

/// Time budget and seed for the fuzz tests: `FUZZ_SECONDS` (total, split across targets;
/// default 60) and `FUZZ_SEED` (default fixed, so CI runs are reproducible).
enum FuzzBudget {
    static var totalSeconds: Double {
        ProcessInfo.processInfo.environment["FUZZ_SECONDS"].flatMap(Double.init) ?? 60
    }

    static var seed: UInt64 {
        ProcessInfo.processInfo.environment["FUZZ_SEED"].flatMap { UInt64($0) } ?? 0x1CB4_2017
    }

    /// Runs `body(iteration)` until `seconds` have passed; returns the iterations run.
    static func run(seconds: Double, _ body: (Int) throws -> Void) rethrows -> Int {
        let deadline = Date().addingTimeInterval(seconds)
        var iteration = 0
        while Date() < deadline {
            for _ in 0..<16 {                     // check the clock every 16 inputs
                try body(iteration)
                iteration += 1
            }
        }
        return iteration
    }
}
