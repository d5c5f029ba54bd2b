/// SplitMix64 (Steele, Lea, Flood 2014): a tiny, well-mixed 64-bit generator. Used to derive
/// seeds and to seed ``Xoshiro256StarStar``; never the system generator, so that a seed names
/// exactly one corpus on every machine and for any number of threads.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    public private(set) var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// xoshiro256** (Blackman, Vigna 2018): the generator behind every random draw of a recording.
/// Each recording owns one, seeded from (corpus seed, stem) by ``forRecording(seed:stem:)``,
/// so recordings are independent of each other and of the order in which threads render them.
public struct Xoshiro256StarStar: RandomNumberGenerator, Sendable {
    private var s0, s1, s2, s3: UInt64

    /// Seeds the four state words from SplitMix64, as the authors recommend (never all zero).
    public init(seed: UInt64) {
        var mix = SplitMix64(seed: seed)
        s0 = mix.next()
        s1 = mix.next()
        s2 = mix.next()
        s3 = mix.next()
    }

    /// The generator of one recording: the corpus seed mixed with a stable hash of the stem name.
    public static func forRecording(seed: UInt64, stem: String) -> Xoshiro256StarStar {
        var mix = SplitMix64(seed: seed ^ StableHash.fnv1a(stem))
        return Xoshiro256StarStar(seed: mix.next())
    }

    @inline(__always)
    public mutating func next() -> UInt64 {
        let result = ((s1 &* 5) << 7 | (s1 &* 5) >> 57) &* 9
        let t = s1 << 17
        s2 ^= s0
        s3 ^= s1
        s1 ^= s2
        s0 ^= s3
        s2 ^= t
        s3 = s3 << 45 | s3 >> 19
        return result
    }

    /// Uniform in [0, 1) with 53 random bits.
    @inline(__always)
    public mutating func unit() -> Double { Double(next() >> 11) * 0x1.0p-53 }

    /// Uniform in [lower, upper).
    @inline(__always)
    public mutating func uniform(_ lower: Double, _ upper: Double) -> Double { lower + (upper - lower) * unit() }

    /// Uniform integer in `range` (modulo bias below 2^-40 for the small ranges used here).
    public mutating func integer(in range: ClosedRange<Int>) -> Int {
        range.lowerBound + Int(next() % UInt64(range.count))
    }

    /// True with probability `p`.
    public mutating func chance(_ p: Double) -> Bool { unit() < p }

    /// Two uniforms in [-1, 1) from one draw (32 bits each): the white-noise source.
    @inline(__always)
    public mutating func signedPair() -> (Float, Float) {
        let bits = next()
        let scale: Float = 0x1.0p-31
        return (Float(Int32(truncatingIfNeeded: bits)) * scale, Float(Int32(truncatingIfNeeded: bits >> 32)) * scale)
    }
}

/// Stable, platform-independent hashes (Swift's `Hasher` is seeded per process).
public enum StableHash {
    /// 64-bit FNV-1a of the UTF-8 bytes.
    public static func fnv1a(_ text: String) -> UInt64 {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in text.utf8 {
            hash ^= UInt64(byte)
            hash &*= 0x0000_0100_0000_01B3
        }
        return hash
    }
}
