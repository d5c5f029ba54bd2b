import AudioDSP
import Foundation
import Glibc
import TestSupport
import XCTest

final class DecodingTests: XCTestCase {
    private func sample(_ stem: String) -> String {
        AudioFixtures.sampleDirectory.appendingPathComponent(stem + ".wav").path
    }

    /// The PCM bytes of a plain WAV (chunk walk, little endian), for an independent check of
    /// the decoder's scaling.
    private func rawPCM(_ path: String) throws -> (data: [UInt8], bytesPerSample: Int, channels: Int) {
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        func u32(_ i: Int) -> Int { Int(bytes[i]) | Int(bytes[i + 1]) << 8 | Int(bytes[i + 2]) << 16 | Int(bytes[i + 3]) << 24 }
        func u16(_ i: Int) -> Int { Int(bytes[i]) | Int(bytes[i + 1]) << 8 }
        var position = 12, channels = 0, bits = 0
        while position + 8 <= bytes.count {
            let id = String(decoding: bytes[position..<position + 4], as: UTF8.self)
            let size = u32(position + 4)
            if id == "fmt " { channels = u16(position + 10); bits = u16(position + 22) }
            if id == "data" { return (Array(bytes[(position + 8)..<(position + 8 + size)]), bits / 8, channels) }
            position += 8 + size + (size & 1)
        }
        throw CocoaError(.fileReadCorruptFile)
    }

    /// Little-endian signed integer of `width` bytes, left-justified in 32 bits (as sox holds it).
    private func leftJustified(_ data: [UInt8], at i: Int, width: Int) -> Int32 {
        var value: UInt32 = 0
        for b in 0..<width { value |= UInt32(data[i + b]) << (8 * (4 - width + b)) }
        return Int32(bitPattern: value)
    }

    func testBitDepthsOfTheSamplesScaleLikeTorchaudio() throws {
        // 32-, 24- and 16-bit recordings of the sample.
        for (stem, bits) in [("101_1b1_Al_sc_Meditron", 32), ("101_1b1_Pr_sc_Meditron", 24), ("102_1b1_Ar_sc_Meditron", 16)] {
            let path = sample(stem)
            let audio = try AudioDecoder.decode(contentsOf: path)
            XCTAssertEqual(audio.bitDepth, bits, stem)
            XCTAssertEqual(audio.sampleRate, 44100, stem)
            XCTAssertEqual(audio.channels, 1, stem)
            XCTAssertEqual(audio.frames, 882_000, stem)
            XCTAssertEqual(audio.samples.count, audio.frames, stem)
            let raw = try rawPCM(path)
            XCTAssertEqual(raw.bytesPerSample * 8, bits)
            var mismatches = 0, exactDivision = 0
            for f in 0..<audio.frames {
                let s = leftJustified(raw.data, at: f * raw.bytesPerSample, width: raw.bytesPerSample)
                // x / 2^(bits-1) exactly, except that torchaudio (sox) rounds 32-bit samples to
                // 24 significant bits and clips the top 64 codes to 1.
                let plain = Float(Double(s >> (32 - bits)) / Double(1 << (bits - 1)))
                let sox: Float = s > Int32.max - 64 ? 1 : Float((Int64(s) + 64) & ~127) / 2_147_483_648
                if audio.samples[f] != sox { mismatches += 1 }
                if audio.samples[f] == plain { exactDivision += 1 }
            }
            XCTAssertEqual(mismatches, 0, "\(stem): samples differing from sox's scaling")
            if bits < 32 { XCTAssertEqual(exactDivision, audio.frames, "\(stem): x / 2^\(bits - 1)") }
            XCTAssertTrue(audio.samples.allSatisfy { $0 >= -1 && $0 <= 1 })
        }
    }

    func testSoxScalingAtTheExtremes() {
        XCTAssertEqual(AudioDecoder.soxFloat(Int32.max), 1)
        XCTAssertEqual(AudioDecoder.soxFloat(Int32.max - 63), 1)
        XCTAssertEqual(AudioDecoder.soxFloat(Int32.max - 64), Float(2_147_483_520.0 / 2_147_483_648.0))
        XCTAssertEqual(AudioDecoder.soxFloat(Int32.min), -1)
        XCTAssertEqual(AudioDecoder.soxFloat(-982_529), -982_528 / 2_147_483_648)  // seen in 101_1b1_Al
        XCTAssertEqual(AudioDecoder.soxFloat(63), 0)
        XCTAssertEqual(AudioDecoder.soxFloat(64), 128 / 2_147_483_648)
        XCTAssertEqual(AudioDecoder.soxFloat(-64), 0)
        XCTAssertEqual(AudioDecoder.soxFloat(-65), -128 / 2_147_483_648)
        XCTAssertEqual(AudioDecoder.soxFloat(Int32(-32768) << 16), -1)
        XCTAssertEqual(AudioDecoder.soxFloat(Int32(32767) << 16), 32767 / 32768)
    }

    func testStereoEdgeFileIsAveragedToMono() throws {
        let path = AudioFixtures.edgeDirectory.appendingPathComponent("901_1b1_Al_mc_AKGC417L.wav").path
        let audio = try AudioDecoder.decode(contentsOf: path)
        XCTAssertEqual(audio.channels, 2)
        XCTAssertEqual(audio.bitDepth, 24)
        XCTAssertEqual(audio.sampleRate, 48000)
        XCTAssertEqual(audio.frames, 288_000)
        XCTAssertEqual(audio.samples.count, 288_000)
        let raw = try rawPCM(path)
        XCTAssertEqual(raw.channels, 2)
        var mismatches = 0
        for f in 0..<audio.frames {
            let l = Float(leftJustified(raw.data, at: f * 6, width: 3) >> 8) / 8_388_608
            let r = Float(leftJustified(raw.data, at: f * 6 + 3, width: 3) >> 8) / 8_388_608
            if audio.samples[f] != (l + r) / 2 { mismatches += 1 }
        }
        XCTAssertEqual(mismatches, 0, "frames whose value is not the float32 channel mean")
    }

    func testMultichannelMeanSumsInChannelOrderThenDivides() throws {
        // Three channels: torch's mean(0) is ((a + b) + c) / 3 in float32, not a product with 1/3.
        let dir = try AudioFixtures.temporaryDirectory(for: self)
        let path = dir.appendingPathComponent("three.wav").path
        var ints: [Int16] = []
        var expected: [Float] = []
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<5000 {
            let frame = (0..<3).map { _ in Int16.random(in: .min ... .max, using: &rng) }
            ints += frame
            let f = frame.map { Float($0) / 32768 }
            expected.append(((f[0] + f[1]) + f[2]) / 3)
        }
        try writeWAV(path, channels: 3, sampleRate: 8000, bitsPerSample: 16,
                     data: ints.withUnsafeBytes { Array($0) })
        let audio = try AudioDecoder.decode(contentsOf: path)
        XCTAssertEqual(audio.channels, 3)
        XCTAssertEqual(audio.samples, expected)
    }

    // MARK: Bad files

    private func assertDecodingFails(_ path: String, file: StaticString = #filePath, line: UInt = #line,
                                     _ check: (AudioDecodingError.Reason) -> Bool) {
        do {
            let audio = try AudioDecoder.decode(contentsOf: path)
            XCTFail("decoded \(audio.frames) frames from \(path), expected an error", file: file, line: line)
        } catch {
            XCTAssertEqual(error.path, path, file: file, line: line)
            XCTAssertTrue(error.description.contains(path), "message must name the file: \(error)", file: file, line: line)
            XCTAssertTrue(check(error.reason), "unexpected reason: \(error)", file: file, line: line)
            print("  \(error)")
        }
    }

    func testMissingFile() {
        let path = "/nonexistent-dir/101_1b1_Al_sc_Meditron.wav"
        assertDecodingFails(path) {
            if case .unreadable(let why) = $0 { return why.contains("No such file") }
            return false
        }
    }

    func testDirectoryIsNotARecording() throws {
        let dir = try AudioFixtures.temporaryDirectory(for: self)
        assertDecodingFails(dir.path) { $0 == .notRegularFile("a directory") }
    }

    /// Issue #20: a named pipe is refused before it is opened (opening it waited for a writer
    /// forever); the test releases a blocked reader after 30 s and fails.
    func testNamedPipeIsRefusedUnopened() throws {
        let path = try AudioFixtures.temporaryDirectory(for: self).appendingPathComponent("pipe.wav").path
        try FIFOGuard.make(path)
        let (message, hung) = FIFOGuard.run(releasing: path) { () -> String in
            do { _ = try AudioDecoder.decode(contentsOf: path); return "decoded" } catch { return "\(error)" }
        }
        XCTAssertFalse(hung, "decoding waited on the named pipe")
        XCTAssertEqual(message, "\(path): not a regular file (a named pipe), not a WAV recording")
    }

    /// Issue #20: a header with zero channels, in words, without libsndfile's phrasing or the
    /// C function (was "not a readable sound file or corrupt header (sf_open_fd: Channel count is zero.)").
    func testZeroChannelsIsDescribedInWords() throws {
        let dir = try AudioFixtures.temporaryDirectory(for: self)
        var bytes = try Data(contentsOf: URL(fileURLWithPath: sample("102_1b1_Ar_sc_Meditron")))
        bytes[22] = 0
        bytes[23] = 0
        let path = dir.appendingPathComponent("zero-channels.wav").path
        XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: bytes))
        XCTAssertThrowsError(try AudioDecoder.decode(contentsOf: path)) { error in
            XCTAssertEqual("\(error)", "\(path): not a readable sound file: the header declares zero audio channels")
        }
    }

    func testEmptyFile() throws {
        let path = try AudioFixtures.temporaryDirectory(for: self).appendingPathComponent("empty.wav").path
        XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: Data()))
        assertDecodingFails(path) { $0 == .emptyFile }
    }

    func testCorruptHeader() throws {
        let dir = try AudioFixtures.temporaryDirectory(for: self)
        let garbage = dir.appendingPathComponent("garbage.wav").path
        XCTAssertTrue(FileManager.default.createFile(atPath: garbage, contents: Data(repeating: 0x5A, count: 4096)))
        assertDecodingFails(garbage) {
            if case .unrecognisedFormat(let why) = $0 { return !why.isEmpty }
            return false
        }
        // A real recording whose "fmt " chunk is overwritten.
        var bytes = try Data(contentsOf: URL(fileURLWithPath: sample("102_1b1_Ar_sc_Meditron")))
        bytes.replaceSubrange(12..<36, with: Data(repeating: 0xFF, count: 24))
        let broken = dir.appendingPathComponent("broken-fmt.wav").path
        XCTAssertTrue(FileManager.default.createFile(atPath: broken, contents: bytes))
        assertDecodingFails(broken) {
            if case .unrecognisedFormat = $0 { return true }
            return false
        }
    }

    /// Non-WAV input is refused before libsndfile probes it (its MPEG probe, libmpg123, prints
    /// "dequantization failed" lines to stderr on corrupt frames; the fuzz run met it).
    func testNonWAVIsRefusedBeforeLibsndfileProbesIt() throws {
        let dir = try AudioFixtures.temporaryDirectory(for: self)
        var mp3ish = Data([0x49, 0x44, 0x33, 0x03, 0, 0, 0, 0, 0, 0])          // "ID3" tag header
        for i in 0..<4096 { mp3ish.append(i % 417 == 0 ? 0xFF : UInt8(truncatingIfNeeded: i &* 31)) }
        let path = dir.appendingPathComponent("not-a-wave.wav").path
        XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: mp3ish))
        assertDecodingFails(path) {
            if case .unrecognisedFormat(let why) = $0 { return why == "not a RIFF/WAVE file" }
            return false
        }
    }

    func testTruncatedFile() throws {
        let dir = try AudioFixtures.temporaryDirectory(for: self)
        for (stem, bytesPerFrame) in [("102_1b1_Ar_sc_Meditron", 2), ("101_1b1_Pr_sc_Meditron", 3)] {
            let whole = try Data(contentsOf: URL(fileURLWithPath: sample(stem)))
            let path = dir.appendingPathComponent("\(stem)-cut.wav").path
            XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: whole.prefix(100_000)))
            assertDecodingFails(path) {
                guard case .truncated(let declared, let available) = $0 else { return false }
                return declared == 882_000 && available == (100_000 - 44) / bytesPerFrame
            }
        }
        // Opt-in: decode what is there, as torchaudio does (49,978 frames of 882,000).
        let cut = dir.appendingPathComponent("102_1b1_Ar_sc_Meditron-cut.wav").path
        let partial = try AudioDecoder.decode(contentsOf: cut, allowTruncated: true)
        XCTAssertEqual(partial.frames, 49_978)
        XCTAssertEqual(partial.samples.count, 49_978)
        XCTAssertEqual(partial.declaredFrames, 882_000)
        XCTAssertTrue(partial.isTruncated)
        let complete = try AudioDecoder.decode(contentsOf: sample("102_1b1_Ar_sc_Meditron"))
        XCTAssertEqual(partial.samples, Array(complete.samples.prefix(49_978)))
        XCTAssertNil(complete.declaredFrames)
        // Cut inside the header: nothing but the first 30 bytes.
        let stub = dir.appendingPathComponent("stub.wav").path
        let whole = try Data(contentsOf: URL(fileURLWithPath: sample("102_1b1_Ar_sc_Meditron")))
        XCTAssertTrue(FileManager.default.createFile(atPath: stub, contents: whole.prefix(30)))
        assertDecodingFails(stub) {
            if case .unrecognisedFormat = $0 { return true }
            return false
        }
    }

    func testHeaderWithoutFrames() throws {
        let path = try AudioFixtures.temporaryDirectory(for: self).appendingPathComponent("silent.wav").path
        try writeWAV(path, channels: 1, sampleRate: 4000, bitsPerSample: 16, data: [])
        assertDecodingFails(path) { $0 == .noFrames }
    }

    func testLibsndfilePrintsNothing() throws {
        let dir = try AudioFixtures.temporaryDirectory(for: self)
        let garbage = dir.appendingPathComponent("garbage.wav").path
        XCTAssertTrue(FileManager.default.createFile(atPath: garbage, contents: Data("not a wav at all".utf8)))
        let cut = dir.appendingPathComponent("cut.wav").path
        let whole = try Data(contentsOf: URL(fileURLWithPath: sample("102_1b1_Ar_sc_Meditron")))
        XCTAssertTrue(FileManager.default.createFile(atPath: cut, contents: whole.prefix(5000)))
        let paths = [garbage, cut, "/nonexistent.wav", sample("101_1b1_Al_sc_Meditron"),
                     AudioFixtures.edgeDirectory.appendingPathComponent("901_1b1_Al_mc_AKGC417L.wav").path]
        let captured = try captureStandardStreams {
            for path in paths { _ = try? AudioDecoder.decode(contentsOf: path) }
        }
        XCTAssertEqual(captured, "", "libsndfile wrote to the terminal")
    }

    // MARK: Helpers

    /// Runs `body` with file descriptors 1 and 2 redirected to a file; returns what was written.
    private func captureStandardStreams(_ body: () throws -> Void) throws -> String {
        let path = try AudioFixtures.temporaryDirectory(for: self).appendingPathComponent("streams.txt").path
        fflush(nil)
        let sink = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        XCTAssertGreaterThanOrEqual(sink, 0)
        let savedOut = dup(1), savedErr = dup(2)
        dup2(sink, 1)
        dup2(sink, 2)
        defer {
            fflush(nil)
            dup2(savedOut, 1)
            dup2(savedErr, 2)
            close(savedOut)
            close(savedErr)
            close(sink)
        }
        try body()
        fflush(nil)
        return (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
    }

    /// Writes a canonical 44-byte-header PCM WAV.
    private func writeWAV(_ path: String, channels: Int, sampleRate: Int, bitsPerSample: Int, data: [UInt8]) throws {
        var bytes: [UInt8] = []
        func u32(_ v: Int) { bytes += (0..<4).map { UInt8((v >> (8 * $0)) & 0xFF) } }
        func u16(_ v: Int) { bytes += (0..<2).map { UInt8((v >> (8 * $0)) & 0xFF) } }
        let blockAlign = channels * bitsPerSample / 8
        bytes += Array("RIFF".utf8); u32(36 + data.count); bytes += Array("WAVE".utf8)
        bytes += Array("fmt ".utf8); u32(16); u16(1); u16(channels); u32(sampleRate)
        u32(sampleRate * blockAlign); u16(blockAlign); u16(bitsPerSample)
        bytes += Array("data".utf8); u32(data.count); bytes += data
        try Data(bytes).write(to: URL(fileURLWithPath: path))
    }
}
