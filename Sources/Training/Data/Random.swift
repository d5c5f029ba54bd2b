import Foundation

/// The trainer's random numbers: xoshiro256** seeded through SplitMix64. Every decision
/// (shuffle, SpecAugment, Patch-Mix) draws from a generator derived from (seed, purpose,
/// epoch, step/sample), so a run is repeatable whatever the loader thread's timing, and a
/// resumed run makes the same decisions as an uninterrupted one.
public struct TrainingRNG: RandomNumberGenerator, Sendable {
    private var s: (UInt64, UInt64, UInt64, UInt64)

    public init(seed: UInt64) {
        var sm = seed
        func splitmix(_ x: inout UInt64) -> UInt64 {
            x &+= 0x9E37_79B9_7F4A_7C15
            var z = x
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        s = (splitmix(&sm), splitmix(&sm), splitmix(&sm), splitmix(&sm))
    }

    /// A generator for one purpose: seed mixed with the stream's components.
    public init(seed: UInt64, stream: [UInt64]) {
        var h: UInt64 = seed ^ 0x6A09_E667_F3BC_C908
        for v in stream {
            h = (h ^ v) &* 0x100_0000_01B3 &+ 0x9E37_79B9_7F4A_7C15
            h ^= h >> 29
        }
        self.init(seed: h)
    }

    @inline(__always) private static func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }

    public mutating func next() -> UInt64 {
        let result = Self.rotl(s.1 &* 5, 7) &* 9
        let t = s.1 << 17
        s.2 ^= s.0
        s.3 ^= s.1
        s.1 ^= s.2
        s.0 ^= s.3
        s.2 ^= t
        s.3 = Self.rotl(s.3, 45)
        return result
    }

    /// Uniform in [0, 1).
    public mutating func uniform() -> Double { Double(next() >> 11) * 0x1.0p-53 }

    /// Uniform in [low, high).
    public mutating func uniform(_ low: Double, _ high: Double) -> Double { low + (high - low) * uniform() }

    /// Standard normal (Box-Muller).
    public mutating func normal() -> Double {
        var u1 = uniform()
        while u1 <= 0 { u1 = uniform() }
        return (-2 * Foundation.log(u1)).squareRoot() * cos(2 * Double.pi * uniform())
    }

    /// Integer in the closed range [low, high] (Python's `random.randint`).
    public mutating func randint(_ low: Int, _ high: Int) -> Int { Int.random(in: low...high, using: &self) }

    /// A random permutation of 0..<n (Fisher-Yates).
    public mutating func permutation(_ n: Int) -> [Int] {
        var p = Array(0..<n)
        p.shuffle(using: &self)
        return p
    }

    /// Gamma(shape, 1) (Marsaglia-Tsang).
    public mutating func gamma(_ shape: Double) -> Double {
        if shape < 1 { return gamma(shape + 1) * pow(max(uniform(), .leastNormalMagnitude), 1 / shape) }
        let d = shape - 1.0 / 3, c = 1 / (9 * d).squareRoot()
        while true {
            var x: Double, v: Double
            repeat {
                x = normal()
                v = 1 + c * x
            } while v <= 0
            v = v * v * v
            let u = uniform()
            if u < 1 - 0.0331 * x * x * x * x { return d * v }
            if Foundation.log(max(u, .leastNormalMagnitude)) < 0.5 * x * x + d * (1 - v + Foundation.log(v)) {
                return d * v
            }
        }
    }

    /// Beta(a, b); Beta(1, 1) is uniform.
    public mutating func beta(_ a: Double, _ b: Double) -> Double {
        if a == 1 && b == 1 { return uniform() }
        let x = gamma(a), y = gamma(b)
        return x / (x + y)
    }
}

/// What a generator is for; part of the stream key.
enum RNGPurpose: UInt64 {
    case shuffle = 1
    case specAugment = 2
    case patchMix = 3
    case sampler = 4
    case batchAugment = 5
}

extension TrainingRNG {
    init(seed: UInt64, _ purpose: RNGPurpose, _ components: Int...) {
        self.init(seed: seed, stream: [purpose.rawValue] + components.map { UInt64(bitPattern: Int64($0)) })
    }
}
