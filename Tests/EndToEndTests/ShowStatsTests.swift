import AudioDSP
import FeatureStore
import Foundation
import HDF5
import Manifests
import TestSupport
import Visualization
import XCTest

/// `prep show` and `prep stats` through the real binary: pictures decoded back with libpng,
/// statistics checked against the manifests.
final class ShowStatsTests: PrepTestCase {
    /// The layout `prep show` uses for the paper's 798 x 128 fbank (one pixel per frame, two per
    /// bin; 62 px left margin; title block 12 + 18 + 2 x 9 + 8 px above the plot; 78 px right margin
    /// for the colour bar; 38 px below for the time axis).
    private let plotX = 62, plotY = 56, plotWidth = 798, plotHeight = 256, width = 938, height = 350

    private func x(frame: Int) -> Int { plotX + frame }
    private func y(bin: Int) -> Int { plotY + (127 - bin) * 2 }

    private func sampleFeatures() throws {
        try prep(["ingest", try linkedDataset(from: [Fixtures.sampleDirectory])])
        try prep(["features"])
    }

    /// The stored row, read with the Swift HDF5 wrapper.
    private func storedRow(_ id: String) throws -> (values: [Float], shard: String, row: Int) {
        let directory = try featureSetDirectory()
        for shard in try FeatureSetIndex.read(directory: directory).shards {
            let file = try HDF5File(path: directory + "/" + shard.file, mode: .readOnly)
            if let row = try file.readStrings("/cycle_id").firstIndex(of: id) {
                return (try file.dataset("/fbank").read(rowsAt: row, as: Float.self), directory + "/" + shard.file, row)
            }
        }
        throw FixtureError("\(id) in no shard")
    }

    /// Acceptance (show): a real cycle's picture decodes (libpng) to the documented size; the plot
    /// area holds only colour-map colours, is far from uniform, and puts the row's maximum at the
    /// top colour of the map where the layout says that frame and bin are. Reruns give the same bytes.
    func testShowDrawsARealCycleThatDecodesBack() throws {
        try sampleFeatures()
        let cycle = try XCTUnwrap(try ManifestStore(directory: manifests).readCycles().first { $0.crackle })
        let png = workspace + "/cycle.png"
        let result = try prep(["show", cycle.id, "--png", png])
        XCTAssertTrue(result.stdout.contains("show: \(cycle.id) (\(cycle.label.name))"), result.stdout)

        let (image, header) = try PNGFile.read(png)
        XCTAssertEqual(header.width, width)
        XCTAssertEqual(header.height, height)
        XCTAssertTrue(header.isColour)

        let map = ColorMap.viridis
        let colours = Set(map.table)
        var indices: [Int] = []
        for py in plotY..<(plotY + plotHeight) {
            for px in plotX..<(plotX + plotWidth) {
                XCTAssertTrue(colours.contains(image[px, py]) || image[px, py] == .white, "pixel (\(px), \(py)) \(image[px, py])")
                indices.append(map.nearestIndex(to: image[px, py]))
            }
        }
        XCTAssertGreaterThan(Set(indices).count, 150, "a real fbank uses most of the colour map")
        XCTAssertEqual(image[0, 0], .white)

        let stored = try storedRow(cycle.id)
        let peak = stored.values.indices.max { stored.values[$0] < stored.values[$1] }!
        XCTAssertEqual(map.nearestIndex(to: image[x(frame: peak / 128), y(bin: peak % 128)]), 255, "the row's maximum")
        // A low value (below the 1st percentile) maps to the bottom of the map.
        let floor = stored.values.indices.min { stored.values[$0] < stored.values[$1] }!
        XCTAssertEqual(map.nearestIndex(to: image[x(frame: floor / 128), y(bin: floor % 128) + 1]), 0, "the row's minimum")

        let again = workspace + "/again.png"
        try prep(["show", cycle.id, "--png", again])
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: png)), try Data(contentsOf: URL(fileURLWithPath: again)))

        // The same row by shard and row number gives the same picture.
        let byRow = workspace + "/row.png"
        try prep(["show", "--shard", stored.shard, "--row", String(stored.row), "--png", byRow])
        XCTAssertEqual(try PNGFile.read(byRow).image, image)
    }

    /// Acceptance 3: a synthetic recording through the real pipeline (44.1 kHz WAV, ingest with
    /// resampling, features): the wheeze cycle (a 600 Hz tone) shows a bright horizontal band at the
    /// 600 Hz mel bin; the crackle cycle (clicks at 1, 3 and 5 s) shows bright columns at those times.
    func testShowPutsWheezesAndCracklesWhereTheLabelsSay() throws {
        let rate = 44_100, stem = "101_1b1_Al_sc_Meditron"
        var samples = [Float](repeating: 0, count: 17 * rate)
        var generator = SystemRandomNumberGenerator()
        for i in samples.indices { samples[i] = Float.random(in: -0.005...0.005, using: &generator) }
        for i in Int(0.5 * Double(rate))..<Int(8.5 * Double(rate)) {
            samples[i] += 0.3 * sin(2 * Float.pi * 600 * Float(i) / Float(rate))
        }
        for click in [9.5, 11.5, 13.5] {                      // cycle 2 starts at 8.5 s: 1, 3 and 5 s in
            let start = Int(click * Double(rate))
            for i in 0..<Int(0.004 * Double(rate)) { samples[start + i] += 0.8 * exp(-Float(i) / 30) * (i % 2 == 0 ? 1 : -1) }
        }
        let dataset = workspace + "/synthetic"
        try FileManager.default.createDirectory(atPath: dataset, withIntermediateDirectories: true)
        try AudioEncoder.writeWAV(samples, sampleRate: rate, to: dataset + "/\(stem).wav")
        try "0.5\t8.5\t0\t1\n8.5\t16.5\t1\t0\n".write(toFile: dataset + "/\(stem).txt", atomically: true, encoding: .utf8)
        try prep(["ingest", dataset])
        try prep(["features"])

        let map = ColorMap.viridis
        // Kaldi mel centres for 128 bins over 20...8000 Hz: the bin nearest 600 Hz.
        func mel(_ f: Double) -> Double { 1127 * log(1 + f / 700) }
        let delta = (mel(8000) - mel(20)) / 129
        let centres = (0..<128).map { 700 * (exp((mel(20) + Double($0 + 1) * delta) / 1127) - 1) }
        let toneBin = centres.indices.min { abs(centres[$0] - 600) < abs(centres[$1] - 600) }!

        let wheeze = workspace + "/wheeze.png"
        let shown = try prep(["show", "\(stem)#0", "--png", wheeze])
        XCTAssertTrue(shown.stdout.contains("(wheeze)"), shown.stdout)
        let wheezeImage = try PNGFile.read(wheeze).image
        func rowMean(_ bin: Int) -> Double {
            let frames = 50..<750
            return Double(frames.map { map.nearestIndex(to: wheezeImage[x(frame: $0), y(bin: bin)]) }.reduce(0, +)) / Double(frames.count)
        }
        let brightest = (0..<128).max { rowMean($0) < rowMean($1) }!
        XCTAssertLessThanOrEqual(abs(brightest - toneBin), 1, "brightest mel row \(brightest) (\(centres[brightest]) Hz), tone at bin \(toneBin)")
        XCTAssertGreaterThan(rowMean(toneBin), 200)
        for far in [toneBin - 30, toneBin + 30, 120] { XCTAssertLessThan(rowMean(far), rowMean(toneBin) - 100, "bin \(far)") }

        let crackle = workspace + "/crackle.png"
        XCTAssertTrue(try prep(["show", "\(stem)#1", "--png", crackle]).stdout.contains("(crackle)"))
        let crackleImage = try PNGFile.read(crackle).image
        func columnMean(_ frame: Int) -> Double {
            Double((0..<128).map { map.nearestIndex(to: crackleImage[x(frame: frame), y(bin: $0)]) }.reduce(0, +)) / 128
        }
        for seconds in [1.0, 3.0, 5.0] {
            let frame = Int(seconds * 100)
            let atClick = (frame - 3...frame + 1).map(columnMean).max()!
            let between = columnMean(frame + 100)
            XCTAssertGreaterThan(atClick, between + 60, "click at \(seconds) s: column \(atClick) vs \(between) one second later")
        }
    }

    /// Unknown ids, bad rows and ambiguous caches fail with one clear line and a non-zero exit.
    func testShowRefusesUnknownCyclesClearly() throws {
        var result = try prep(["show", "101_1b1_Al_sc_Meditron#0", "--png", workspace + "/x.png"], expectStatus: 2)
        XCTAssertTrue(result.stderr.contains("no feature set in"), result.stderr)

        try sampleFeatures()
        result = try prep(["show", "999_1b1_Al_sc_Meditron#0", "--png", workspace + "/x.png"], expectStatus: 2)
        XCTAssertTrue(result.stderr.contains("error: cycle '999_1b1_Al_sc_Meditron#0' is not in feature set"), result.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: workspace + "/x.png"))
        result = try prep(["show", "101_1b1_Al_sc_Meditron", "--png", workspace + "/x.png"], expectStatus: 2)
        XCTAssertTrue(result.stderr.contains("cycle ids are <recording stem>#<k>"), result.stderr)

        let shard = try featureSetDirectory() + "/test-00000.h5"
        result = try prep(["show", "--shard", shard, "--row", "100000", "--png", workspace + "/x.png"], expectStatus: 2)
        XCTAssertTrue(result.stderr.contains("no row 100000"), result.stderr)
        result = try prep(["show", "--png", workspace + "/x.png"], expectStatus: nil)
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(result.stderr.contains("give a cycle id, or --shard"), result.stderr)
        result = try prep(["show", "101_1b1_Al_sc_Meditron#0", "--png", workspace + "/nowhere/x.png"], expectStatus: 2)
        XCTAssertTrue(result.stderr.contains("does not exist"), result.stderr)

        // Two feature sets: the choice must be explicit.
        try prep(["features", "--norm", "none"])
        result = try prep(["show", "101_1b1_Al_sc_Meditron#0", "--png", workspace + "/x.png"], expectStatus: 2)
        XCTAssertTrue(result.stderr.contains("holds 2 feature sets; choose one with --feature-set"), result.stderr)
        let name = try XCTUnwrap(featureSetNames(cache).first { $0.contains("norm-none") })
        try prep(["show", "101_1b1_Al_sc_Meditron#0", "--feature-set", name, "--png", workspace + "/x.png"])
        XCTAssertEqual(try PNGFile.read(workspace + "/x.png").header.width, width)
    }

    private func featureSetNames(_ cache: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: cache).filter { $0.hasPrefix("icbhi-") }
    }

    /// Acceptance (stats): on the real sample plus two bad files, `--json` agrees with the manifests
    /// counted here independently, keeps its documented keys, and lists the skipped files with their
    /// reasons; the table shows the same.
    func testStatsOnTheRealSample() throws {
        let dataset = try linkedDataset(from: [Fixtures.sampleDirectory])
        try FileManager.default.copyItem(atPath: Fixtures.sampleDirectory + "/101_1b1_Al_sc_Meditron.wav",
                                         toPath: dataset + "/160_1b3_Al_mc_AKGC417L.wav")
        try "0\t1\t0\t0\n".write(toFile: dataset + "/not_a_stem.txt", atomically: true, encoding: .utf8)
        try Data().write(to: URL(fileURLWithPath: dataset + "/not_a_stem.wav"))
        try prep(["ingest", dataset])
        try prep(["features"])

        let result = try prep(["stats", "--json", "--manifests", manifests])
        let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(Set(json.keys), ["format", "manifests", "recordings", "cycles", "by_device", "by_location",
                                        "cycle_seconds", "problems", "feature_sets"])
        XCTAssertEqual(json["format"] as? String, "icbhi-manifest-stats/1")

        let records = try ManifestStore(directory: manifests).readRecordings()
        let cycles = try ManifestStore(directory: manifests).readCycles()
        XCTAssertEqual(records.count, 10)
        let recordingStats = try XCTUnwrap(json["recordings"] as? [String: Any])
        XCTAssertEqual(recordingStats["total"] as? Int, 10)
        XCTAssertEqual(recordingStats["by_split"] as? [String: Int], [
            "train": records.filter { $0.split == .train }.count, "test": records.filter { $0.split == .test }.count, "unassigned": 0,
        ])

        let cycleStats = try XCTUnwrap(json["cycles"] as? [String: Any])
        XCTAssertEqual(cycleStats["total"] as? Int, cycles.count)
        XCTAssertEqual(cycleStats["matches_official_counts"] as? Bool, false)
        let byClassAndSplit = try XCTUnwrap(cycleStats["by_class_and_split"] as? [String: [String: Int]])
        for split in ["train", "test", "unassigned"] {
            for (label, name) in ["normal", "crackle", "wheeze", "both"].enumerated() {
                XCTAssertEqual(byClassAndSplit[split]?[name], cycles.filter { $0.split.rawValue == split && $0.label.rawValue == label }.count,
                               "\(split) \(name)")
            }
        }
        let byDevice = try XCTUnwrap(json["by_device"] as? [String: [String: Any]])
        XCTAssertEqual(Set(byDevice.keys), ["Meditron", "LittC2SE", "Litt3200", "AKGC417L"])
        for (device, group) in byDevice {
            XCTAssertEqual(group["cycles"] as? Int, cycles.filter { $0.recording.device.rawValue == device }.count, device)
            XCTAssertEqual(group["recordings"] as? Int, records.filter { $0.stem.device.rawValue == device }.count, device)
        }
        let byLocation = try XCTUnwrap(json["by_location"] as? [String: [String: Any]])
        XCTAssertEqual(byLocation.count, 7)
        for (location, group) in byLocation {
            XCTAssertEqual(group["cycles"] as? Int, cycles.filter { $0.recording.location.rawValue == location }.count, location)
        }

        let lengths = cycles.map { Double($0.sampleCount) / 16000 }.sorted()
        let seconds = try XCTUnwrap(json["cycle_seconds"] as? [String: Any])
        XCTAssertEqual(seconds["count"] as? Int, cycles.count)
        XCTAssertEqual(try XCTUnwrap(seconds["min"] as? Double), lengths.first!, accuracy: 1e-9)
        XCTAssertEqual(try XCTUnwrap(seconds["max"] as? Double), lengths.last!, accuracy: 1e-9)
        let middle = Double(lengths.count - 1) / 2
        let median = (lengths[Int(middle.rounded(.down))] + lengths[Int(middle.rounded(.up))]) / 2
        XCTAssertEqual(try XCTUnwrap(seconds["median"] as? Double), median, accuracy: 1e-9)
        XCTAssertEqual(seconds["under_0_5_s"] as? Int, lengths.filter { $0 < 0.5 }.count)
        XCTAssertEqual(seconds["over_8_s"] as? Int, lengths.filter { $0 > 8 }.count)
        let histogram = try XCTUnwrap(seconds["histogram"] as? [[String: Any]])
        XCTAssertEqual(histogram.last.map { Set($0.keys) }, ["from", "to", "count"])
        XCTAssertTrue(histogram.last?["to"] is NSNull, "the last bucket has no upper bound")
        XCTAssertEqual(histogram.compactMap { $0["count"] as? Int }.reduce(0, +), cycles.count)

        let problems = try XCTUnwrap(json["problems"] as? [String: Any])
        XCTAssertEqual(problems["recorded"] as? Bool, true)
        let skipped = try XCTUnwrap(problems["skipped_files"] as? [[String: Any]])
        XCTAssertEqual(skipped.map { Set($0.keys) }, [["file", "line", "reason"], ["file", "line", "reason"]], "stable keys, line null")
        let reasons = Dictionary(uniqueKeysWithValues: skipped.map { (URL(fileURLWithPath: $0["file"] as! String).lastPathComponent, $0["reason"] as! String) })
        XCTAssertEqual(reasons["160_1b3_Al_mc_AKGC417L.wav"], "audio without annotation (160_1b3_Al_mc_AKGC417L.txt missing)")
        XCTAssertTrue(reasons["not_a_stem.wav"]?.hasPrefix("file name does not parse as an ICBHI stem") ?? false, "\(reasons)")

        let sets = try XCTUnwrap(json["feature_sets"] as? [[String: Any]])
        XCTAssertEqual(sets.count, 1)
        XCTAssertEqual(sets.first?["rows_by_split"] as? [String: Int], ["train": cycles.filter { $0.split == .train }.count,
                                                                        "test": cycles.filter { $0.split == .test }.count])

        // Stable: the same manifests give the same bytes; without --manifests, the cache's ingest.json
        // says where they are.
        XCTAssertEqual(try prep(["stats", "--json", "--manifests", manifests]).stdout, result.stdout)
        XCTAssertEqual(try prep(["stats", "--json"]).stdout, result.stdout)

        let table = try prep(["stats", "--manifests", manifests]).stdout
        for expected in ["cycles per class and split", "per device", "per chest location", "cycle length, s",
                         "skipped by ingest: 2 file(s)", "160_1b3_Al_mc_AKGC417L.wav: audio without annotation",
                         "not the official ICBHI 2017 counts"] {
            XCTAssertTrue(table.contains(expected), "missing '\(expected)' in:\n\(table)")
        }
        let totalLine = try XCTUnwrap(table.split(separator: "\n").first { $0.hasPrefix("total") && $0.hasSuffix(" \(cycles.count)") })
        XCTAssertFalse(totalLine.isEmpty)
    }

    /// No manifests: one clear line and exit 2.
    func testStatsWithoutManifestsFailsClearly() throws {
        let result = try prep(["stats", "--manifests", workspace + "/empty"], expectStatus: 2)
        XCTAssertTrue(result.stderr.contains("recordings.csv: cannot read (run `prep ingest` first)"), result.stderr)
    }
}
