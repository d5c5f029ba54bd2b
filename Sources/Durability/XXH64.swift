/// XXH64 (xxHash, 64-bit, seed 0), streaming: the checksum of the feature shards.
///
/// Why not SHA-256 there: hashing 2.8 GB of shards with SHA-256 took a fifth of `prep
/// features`' CPU even with the SHA-NI instructions (1.7 GB/s); XXH64 runs at ~18 GB/s. The
/// checksum guards against corruption (bit rot, torn or truncated files), and a cryptographic
/// hash adds nothing there: it sits unsigned in `index.json` beside the file, where anyone who
/// can alter a shard can alter it too. The algorithm is the reference one
/// (github.com/Cyan4973/xxHash, `doc/xxhash_spec.md`); the hex value is the canonical
/// (big-endian) form that `xxhsum -H1` and Python's `xxhash.xxh64().hexdigest()` print.
public struct XXH64: Sendable {
    static let prime1: UInt64 = 0x9E37_79B1_85EB_CA87
    static let prime2: UInt64 = 0xC2B2_AE3D_27D4_EB4F
    static let prime3: UInt64 = 0x1656_67B1_9E37_79F9
    static let prime4: UInt64 = 0x85EB_CA77_C2B2_AE63
    static let prime5: UInt64 = 0x27D4_EB2F_1656_67C5

    /// The four lane accumulators, fed one 8-byte word each per 32-byte stripe.
    private var lanes: (UInt64, UInt64, UInt64, UInt64)
    private let seed: UInt64
    /// Bytes fed so far.
    private var total: UInt64 = 0
    /// The start of an incomplete stripe (fewer than 32 bytes) waiting for more input.
    private var pending: [UInt8] = []

    public init(seed: UInt64 = 0) {
        self.seed = seed
        lanes = (seed &+ Self.prime1 &+ Self.prime2, seed &+ Self.prime2, seed, seed &- Self.prime1)
        pending.reserveCapacity(32)
    }

    @inline(__always) static func rotated(_ x: UInt64, by r: UInt64) -> UInt64 { (x &<< r) | (x &>> (64 &- r)) }

    @inline(__always) static func round(_ accumulator: UInt64, _ input: UInt64) -> UInt64 {
        rotated(accumulator &+ input &* prime2, by: 31) &* prime1
    }

    @inline(__always) static func merge(_ accumulator: UInt64, _ lane: UInt64) -> UInt64 {
        (accumulator ^ round(0, lane)) &* prime1 &+ prime4
    }

    /// Feeds `bytes`, of any length.
    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        guard var p = bytes.baseAddress, bytes.count > 0 else { return }
        var n = bytes.count
        total &+= UInt64(n)
        if !pending.isEmpty {
            let take = min(32 - pending.count, n)
            pending.append(contentsOf: UnsafeRawBufferPointer(start: p, count: take))
            p += take
            n -= take
            guard pending.count == 32 else { return }
            pending.withUnsafeBytes { stripes($0.baseAddress!, count: 32) }
            pending.removeAll(keepingCapacity: true)
        }
        let whole = n & ~31
        stripes(p, count: whole)
        if whole < n { pending.append(contentsOf: UnsafeRawBufferPointer(start: p + whole, count: n - whole)) }
    }

    /// Feeds the bytes of any byte collection.
    public mutating func update<Bytes: Sequence>(_ bytes: Bytes) where Bytes.Element == UInt8 {
        let array = Array(bytes)
        array.withUnsafeBytes { update($0) }
    }

    /// Processes `count` (a multiple of 32) bytes: the hot loop, four independent lanes.
    @inline(__always)
    private mutating func stripes(_ start: UnsafeRawPointer, count: Int) {
        var (a, b, c, d) = lanes
        var p = start
        let end = start + count
        while p < end {
            a = Self.round(a, UInt64(littleEndian: p.loadUnaligned(as: UInt64.self)))
            b = Self.round(b, UInt64(littleEndian: p.loadUnaligned(fromByteOffset: 8, as: UInt64.self)))
            c = Self.round(c, UInt64(littleEndian: p.loadUnaligned(fromByteOffset: 16, as: UInt64.self)))
            d = Self.round(d, UInt64(littleEndian: p.loadUnaligned(fromByteOffset: 24, as: UInt64.self)))
            p += 32
        }
        lanes = (a, b, c, d)
    }

    /// The hash of everything fed so far (feeding may go on afterwards).
    public func finalize() -> UInt64 {
        let (a, b, c, d) = lanes
        var h: UInt64
        if total >= 32 {
            h = Self.rotated(a, by: 1) &+ Self.rotated(b, by: 7) &+ Self.rotated(c, by: 12) &+ Self.rotated(d, by: 18)
            h = Self.merge(Self.merge(Self.merge(Self.merge(h, a), b), c), d)
        } else {
            h = seed &+ Self.prime5
        }
        h &+= total
        pending.withUnsafeBytes { tail in
            var i = 0
            while i + 8 <= tail.count {
                h ^= Self.round(0, UInt64(littleEndian: tail.loadUnaligned(fromByteOffset: i, as: UInt64.self)))
                h = Self.rotated(h, by: 27) &* Self.prime1 &+ Self.prime4
                i += 8
            }
            if i + 4 <= tail.count {
                h ^= UInt64(UInt32(littleEndian: tail.loadUnaligned(fromByteOffset: i, as: UInt32.self))) &* Self.prime1
                h = Self.rotated(h, by: 23) &* Self.prime2 &+ Self.prime3
                i += 4
            }
            while i < tail.count {
                h ^= UInt64(tail[i]) &* Self.prime5
                h = Self.rotated(h, by: 11) &* Self.prime1
                i += 1
            }
        }
        h ^= h &>> 33
        h &*= Self.prime2
        h ^= h &>> 29
        h &*= Self.prime3
        h ^= h &>> 32
        return h
    }

    /// ``finalize()`` as 16 lowercase hex digits, most significant first (xxhsum's form).
    public func hexDigest() -> String {
        let hex = String(finalize(), radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }
}
