#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The CPU the `AudioDSP` module was compiled for, and whether the running CPU can execute it.
///
/// `Package.swift` compiles AudioDSP with `-target-cpu haswell` when the build machine has the
/// flags below (unless `RESPCACHE_DSP_CPU=generic`) and then defines `RESPCACHE_DSP_HASWELL`
/// here. This module itself is always compiled for the generic x86-64 target, so `prep` and
/// `bench` can run `startupCheck` before any AudioDSP code and print a clear error instead of
/// dying of SIGILL on an older CPU.
public enum HostCPU {
    /// "haswell" or "generic": what AudioDSP in this binary was compiled for.
    #if RESPCACHE_DSP_HASWELL
    public static let dspTarget = "haswell"
    #else
    public static let dspTarget = "generic"
    #endif

    /// One line for `--version` and benchmark headers.
    public static var dspTargetDescription: String {
        dspTarget == "haswell" ? "AudioDSP built for haswell (AVX2, FMA, BMI2)" : "AudioDSP built for generic x86-64"
    }

    /// The /proc/cpuinfo flags the haswell target lets the compiler use (abm = LZCNT). The same
    /// list is in Package.swift, which decides the build.
    public static let haswellFlags = ["avx", "avx2", "fma", "bmi1", "bmi2", "f16c", "movbe", "abm", "popcnt", "sse4_2"]

    /// The flags of the first `flags` line of a /proc/cpuinfo text (x86 Linux); nil if there is none.
    public static func flags(cpuinfo: String) -> Set<String>? {
        for line in cpuinfo.split(separator: "\n") where line.hasPrefix("flags") {
            guard let colon = line.firstIndex(of: ":"),
                  line[..<colon].filter({ $0 != " " && $0 != "\t" }) == "flags" else { continue }
            return Set(line[line.index(after: colon)...].split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init))
        }
        return nil
    }

    /// The required flags the CPU described by `cpuinfo` lacks, in the order of `required`.
    /// nil when the text has no flags line (not x86 Linux): nothing to say either way.
    public static func missing(_ required: [String] = haswellFlags, cpuinfo: String) -> [String]? {
        flags(cpuinfo: cpuinfo).map { have in required.filter { !have.contains($0) } }
    }

    /// The error `program` prints when this build's AudioDSP cannot run on this CPU.
    public static func message(program: String, missing: [String]) -> String {
        "Error: this \(program) was built with AudioDSP for haswell (AVX2, FMA, BMI2) but this CPU lacks "
            + missing.joined(separator: ", ") + ": rebuild with RESPCACHE_DSP_CPU=generic make"
    }

    /// The error message if this binary's AudioDSP needs CPU features `cpuinfo` lacks, else nil
    /// (a generic build, or no cpuinfo to judge by).
    public static func problem(program: String, cpuinfo: String?, dspTarget: String = dspTarget) -> String? {
        guard dspTarget == "haswell", let cpuinfo, let missing = missing(cpuinfo: cpuinfo), !missing.isEmpty else { return nil }
        return message(program: program, missing: missing)
    }

    /// Call first thing in `main`, before any AudioDSP code: prints the error and exits 1 when
    /// this CPU cannot run this build's AudioDSP. Reads /proc/cpuinfo, or the file named by
    /// `RESPCACHE_TEST_CPUINFO` (how the tests play an older CPU).
    public static func startupCheck(program: String) {
        let path = getenv("RESPCACHE_TEST_CPUINFO").map { String(cString: $0) } ?? "/proc/cpuinfo"
        guard let problem = problem(program: program, cpuinfo: dspTarget == "haswell" ? readText(path) : nil) else { return }
        let line = Array((problem + "\n").utf8)
        _ = line.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
        exit(1)
    }

    /// A small text file read with libc (no Foundation: this runs before anything else).
    static func readText(_ path: String) -> String? {
        guard let file = fopen(path, "r") else { return nil }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = fread(&buffer, 1, buffer.count, file)
            if count <= 0 { break }
            bytes += buffer[..<count]
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
