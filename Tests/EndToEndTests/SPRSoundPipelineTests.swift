import AudioDSP
import Foundation
import HDF5
import TestSupport
import XCTest

/// Issue #22, the prep side: `prep synth --corpus sprsound` on the 51 real sample
/// annotations -> `prep ingest` (detected as SPRSound) -> `prep features` -> shards checked
/// against spec/sprsound-shards.md (dataset names, class indices of known files, the -1 rules,
/// index.json's keys); `prep stats` and `prep show` on it; and a hostile tree where every bad
/// input is reported with its file and reason without stopping the run.
final class SPRSoundPipelineTests: PrepTestCase {
    private var samples: String { Fixtures.shared("sprsound/annotations") }

    func testSyntheticSamplesThroughIngestAndFeaturesGiveTheAgreedFormat() throws {
        let corpus = workspace + "/sprsound"
        let synth = try Fixtures.run("prep", ["synth", "--corpus", "sprsound", "--out", corpus, "--annotations", samples], in: workspace)
        XCTAssertEqual(synth.status, 0, "\(synth)")
        XCTAssertTrue(FileManager.default.fileExists(atPath: corpus + "/BioCAS2022/train2022_wav/40638274_9.7_1_p2_1719.wav"))
        XCTAssertTrue(try String(contentsOfFile: corpus + "/README.txt", encoding: .utf8).hasPrefix("SYNTHETIC SPRSOUND-SHAPED"))

        // Detected (no --corpus); the samples hold the same record twice (BioCAS2022 and Detection
        // trees, releases/ copies): kept once, noted. Nothing is skipped, so --strict passes.
        let ingest = try prep(["ingest", corpus, "--strict"])
        XCTAssertTrue(ingest.stdout.contains("ingest (SPRSound): "), ingest.stdout)
        XCTAssertFalse(ingest.stdout.contains("skipped ("), ingest.stdout)
        XCTAssertTrue(ingest.stdout.contains("same recording as"), ingest.stdout)
        let recordings = try String(contentsOfFile: manifests + "/recordings.csv", encoding: .utf8)
        let events = try String(contentsOfFile: manifests + "/events.csv", encoding: .utf8)
        XCTAssertTrue(recordings.hasPrefix("stem,patient,age,gender,location,recording_number,release,split,record_label,events,"))
        XCTAssertTrue(events.hasPrefix("event_id,recording,k,type,start,end,patient,age,gender,location,release,split,"))
        XCTAssertTrue(recordings.contains("\n_0.7_1_p7_32982,,0.7,1,p7,32982,2025,test2025,,4,"), recordings)
        XCTAssertTrue(events.contains("\n66367271_2.0_1_p3_27385#0,66367271_2.0_1_p3_27385,0,Wheeze+Crackle,"), events)
        let rows = recordings.split(separator: "\n").count - 1
        XCTAssertEqual(rows, 50, "51 files, one duplicate stem (40638274_9.7_1_p2_1719)")

        // A rerun reuses every recording without decoding and changes nothing.
        let rerun = try prep(["ingest", corpus, "--strict"])
        XCTAssertTrue(rerun.stdout.contains("50 recordings (0 processed, 50 unchanged)"), rerun.stdout)
        XCTAssertEqual(try String(contentsOfFile: manifests + "/recordings.csv", encoding: .utf8), recordings)
        XCTAssertEqual(try String(contentsOfFile: manifests + "/events.csv", encoding: .utf8), events)

        let stats = try prep(["stats"])
        XCTAssertTrue(stats.stdout.contains("SPRSound manifests"), stats.stdout)
        XCTAssertTrue(stats.stdout.contains("Wheeze+Crackle"), stats.stdout)

        try prep(["features", "--length", "2"])
        let names = try FileManager.default.contentsOfDirectory(atPath: cache).filter { $0.hasPrefix("sprsound-") }
        XCTAssertEqual(names.count, 1, "\(names)")
        let directory = cache + "/" + (try XCTUnwrap(names.first))
        XCTAssertTrue(URL(fileURLWithPath: directory).lastPathComponent.hasPrefix("sprsound-16k-2s-fbank128-reference-"), directory)
        let index = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: directory + "/index.json"))) as? [String: Any])
        XCTAssertEqual(index["format"] as? String, "feature-shards/2")
        XCTAssertEqual(index["corpus"] as? String, "sprsound")
        let tasks = try XCTUnwrap(index["tasks"] as? [[String: Any]])
        XCTAssertEqual(tasks.map { $0["name"] as? String }, ["1-1", "1-2", "2-1", "2-2"])
        XCTAssertEqual(tasks.map { $0["level"] as? String }, ["event", "event", "record", "record"])
        XCTAssertEqual(tasks[1]["classes"] as? [String], ["Normal", "Rhonchi", "Wheeze", "Stridor", "Coarse Crackle", "Fine Crackle", "Wheeze+Crackle"])
        XCTAssertEqual(tasks[2]["classes"] as? [String], ["Normal", "Poor Quality", "Adventitious"])
        XCTAssertEqual(tasks[3]["classes"] as? [String], ["Normal", "Poor Quality", "CAS", "DAS", "CAS & DAS"])
        for key in ["feature_set", "id", "frames", "bins", "options", "normalisation", "shards", "rows_by_split", "created_at"] {
            XCTAssertNotNil(index[key], key)
        }
        let shards = try XCTUnwrap(index["shards"] as? [[String: Any]])
        XCTAssertTrue(shards.allSatisfy { ($0["xxh64"] as? String)?.isEmpty == false })

        // Every row of every shard, by id.
        struct Row { var level: String; var tasks: [Int]; var split: String; var patient: Int32; var location: String; var age: Double; var gender: Int8 }
        var byID: [String: Row] = [:]
        var frames: Set<Int> = []
        for shard in shards {
            let file = try HDF5File(path: directory + "/" + (shard["file"] as! String), mode: .readOnly)
            for absent in ["/label", "/label2", "/crackle", "/wheeze"] { XCTAssertFalse(file.contains(absent), absent) }
            frames.insert(try file.dataset("/fbank").shape[1])
            let ids = try file.readStrings("/cycle_id"), levels = try file.readStrings("/level"), splits = try file.readStrings("/split")
            let locations = try file.readStrings("/location")
            let patients = try file.read("/patient", as: Int32.self).0, ages = try file.read("/age", as: Double.self).0
            let genders = try file.read("/gender", as: Int8.self).0, folds = try file.read("/fold", as: Int8.self).0
            XCTAssertTrue(folds.allSatisfy { $0 == -1 })
            var columns: [[Int8]] = []
            for (name, classes) in [("task_1_1", "Normal, Adventitious"), ("task_1_2", "Normal, Rhonchi, Wheeze, Stridor, Coarse Crackle, Fine Crackle, Wheeze+Crackle"),
                                    ("task_2_1", "Normal, Poor Quality, Adventitious"), ("task_2_2", "Normal, Poor Quality, CAS, DAS, CAS & DAS")] {
                columns.append(try file.read("/" + name, as: Int8.self).0)
                XCTAssertEqual(try file.attribute("classes", on: "/" + name)?.stringValue, classes)
            }
            for r in ids.indices {
                byID[ids[r]] = Row(level: levels[r], tasks: columns.map { Int($0[r]) }, split: splits[r], patient: patients[r],
                                   location: locations[r], age: ages[r], gender: genders[r])
            }
        }
        XCTAssertEqual(frames, [198], "every row the same frames (2 s)")
        // -1 rules: event rows have -1 in 2-x, record rows -1 in 1-x.
        for (id, row) in byID {
            if row.level == "event" { XCTAssertTrue(row.tasks[0] >= 0 && row.tasks[1] >= 0 && row.tasks[2] == -1 && row.tasks[3] == -1, id) }
            else { XCTAssertEqual(row.level, "record"); XCTAssertTrue(row.tasks[0] == -1 && row.tasks[1] == -1, id) }
        }
        XCTAssertEqual(byID.values.filter { $0.level == "record" }.count, 50)
        XCTAssertEqual(byID.values.filter { $0.level == "event" }.count, 217 - 6, "the duplicate's 6 events once")
        // Known files.
        let casDAS = try XCTUnwrap(byID["65109516_0.2_0_p1_3659#record"])
        XCTAssertEqual(casDAS.tasks, [-1, -1, 2, 4])
        XCTAssertEqual(casDAS.split, "inter_test")
        XCTAssertEqual(casDAS.patient, 65109516)
        XCTAssertEqual(casDAS.age, 0.2)
        XCTAssertEqual(casDAS.gender, 0)
        XCTAssertEqual(Set(["65109516_0.2_0_p1_3659#0", "65109516_0.2_0_p1_3659#1"].compactMap { byID[$0]?.tasks[1] }), [2, 5], "Wheeze and Fine Crackle")
        let anonymous = try XCTUnwrap(byID["_0.7_1_p7_32982#record"])
        XCTAssertEqual(anonymous.tasks, [-1, -1, -1, -1], "2025: no record label")
        XCTAssertEqual(anonymous.patient, -1)
        XCTAssertEqual(anonymous.location, "p7")
        XCTAssertEqual(anonymous.split, "test2025")
        XCTAssertEqual(byID["_0.7_1_p7_32982#0"]?.tasks, [1, 5, -1, -1])
        XCTAssertEqual(byID["_0.7_0_p4_34309#0"]?.tasks, [1, 3, -1, -1], "Stridor")
        XCTAssertEqual(byID["66367271_2.0_1_p3_27385#1"]?.tasks, [1, 6, -1, -1], "Wheeze+Crackle")
        XCTAssertEqual(byID["40686765_6.7_1_p1_3025#record"]?.tasks, [-1, -1, 0, 0])
        XCTAssertEqual(byID["40686765_6.7_1_p1_3025#0"]?.tasks, [0, 0, -1, -1])
        XCTAssertEqual(byID["41225759_7.2_1_p1_4201#record"]?.tasks, [-1, -1, 2, 2], "CAS")
        XCTAssertEqual(byID["40638274_9.7_1_p2_1719#record"]?.split, "train")
        XCTAssertEqual(byID["41106111_2.1_0_p2_262#record"]?.split, "unassigned")
        XCTAssertEqual(byID["40512331_8.1_1_p1_3552#record"]?.split, "unassigned", "flat pre-split test_json")
        XCTAssertEqual(byID["40512331_8.1_1_p1_3548#record"]?.split, "inter_test")
        XCTAssertEqual(byID["41082553_11.1_1_p2_1030#record"]?.age, 11.1)

        // prep verify checks the ingest (both manifests, entries, checksums) and the task columns.
        let verify = try prep(["verify", URL(fileURLWithPath: directory).lastPathComponent])
        XCTAssertTrue(verify.stdout.contains("ok: ") && verify.stdout.contains(URL(fileURLWithPath: directory).lastPathComponent), verify.stdout)
        XCTAssertTrue(verify.stdout.contains("ingest (50 recordings, 261 cycles"), verify.stdout)

        // The trainer reads what prep wrote: one epoch of task 2-2 (record level), scored per test split.
        let train = try Fixtures.run("train", ["--shards", directory, "--task", "2-2", "--model", "ast-tiny", "--epochs", "1",
                                               "--batch-size", "4", "--output", workspace + "/run"], in: workspace)
        XCTAssertEqual(train.status, 0, "\(train)")
        XCTAssertTrue(train.stdout.contains("inter_test: SE") && train.stdout.contains("(7 rows)"), train.stdout)

        // prep show draws an event row and a record row.
        let show = try prep(["show", "_0.7_1_p7_32982#0", "--png", workspace + "/event.png"])
        XCTAssertTrue(show.stdout.contains("event: 1-1 Adventitious, 1-2 Fine Crackle"), show.stdout)
        let record = try prep(["show", "65109516_0.2_0_p1_3659#record", "--png", workspace + "/record.png"])
        XCTAssertTrue(record.stdout.contains("record: 2-1 Adventitious, 2-2 CAS & DAS"), record.stdout)
    }

    /// Every bad input of issue #22 in one tree: each reported with its file and reason, none
    /// stopping the run; `--strict` refuses the run and writes no manifest.
    func testHostileTreeIsReportedFileByFileAndNeverStopsTheRun() throws {
        let root = workspace + "/hostile"
        let json = root + "/BioCAS2022/train2022_json", wav = root + "/BioCAS2022/train2022_wav"
        for directory in [json, wav] { try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) }
        let good = #"{"record_annotation": "Normal", "event_annotation": [{"start": "100", "end": "900", "type": "Normal"}]}"#
        let files: [(stem: String, json: String?, audio: Bool)] = [
            ("10000001_1.0_0_p1_1", good, true),
            ("10000001_1.0_0_p1_2", #"{"record_annotation": "Normal", "event_annotation": [{"start": "10"#, true),
            ("10000001_1.0_0_p1_3", "[1, 2, 3]", true),
            ("10000001_1.0_0_p1_4", #"{"record_annotation": "Normal", "event_annotation": [{"start": "ten", "end": "900", "type": "Normal"}, {"start": "-3", "end": "900", "type": "Normal"}, {"start": "1", "end": "500", "type": "Normal"}]}"#, true),
            ("10000001_1.0_0_p1_5", #"{"record_annotation": "Normal", "event_annotation": [{"start": "100", "end": "900", "type": "Squeak"}, {"start": "100", "end": "100", "type": "Normal"}, {"start": "200", "end": "300", "type": "Normal"}]}"#, true),
            ("10000001_1.0_0_p1_6", #"{"record_annotation": "CAS", "event_annotation": [{"start": "900", "end": "1500", "type": "Wheeze"}, {"start": "100", "end": "1000", "type": "Wheeze"}]}"#, true),
            ("10000001_1.0_0_p1_7", #"{"record_annotation": "Normal", "event_annotation": [{"start": "500", "end": "60000", "type": "Normal"}, {"start": "50000", "end": "60000", "type": "Normal"}]}"#, true),
            ("10000001_1.0_0_p1_8", good, false),
            ("10000001_1.0_0_p1_9", good, true),   // its WAV is garbage (below)
            ("10000001_1.0_0_p1_10", #"{"record_annotation": "Poor Quality", "event_annotation": []}"#, true),
            ("_1.0_0_p1_11", #"{"event_annotation": [{"start": 100, "end": 900.5, "type": "Wheeze & Crackle"}]}"#, true),
            ("not_a_valid_name", good, true),
            ("10000001_1.0_0_p1_12", "", true),
            ("10000001_1.0_0_p1_13", #"{"event_annotation": []}"#, true),
        ]
        let samples = [Float]((0..<8000).map { sin(Float($0) * 0.05) * 0.1 })   // 2 s at 4 kHz
        let sine = workspace + "/sine.wav"
        try AudioEncoder.writeWAV(samples, sampleRate: 4000, to: sine)
        for file in files {
            if let text = file.json { try Data(text.utf8).write(to: URL(fileURLWithPath: json + "/" + file.stem + ".json")) }
            if file.audio { try FileManager.default.copyItem(atPath: sine, toPath: wav + "/" + file.stem + ".wav") }
        }
        try Data("RIFF\u{0}\u{0}garbage".utf8).write(to: URL(fileURLWithPath: wav + "/10000001_1.0_0_p1_9.wav"))
        // An annotation file too large to be one (sparse: no disk used).
        let huge = json + "/10000001_1.0_0_p1_14.json"
        XCTAssertTrue(FileManager.default.createFile(atPath: huge, contents: Data("{".utf8)))
        try FileHandle(forWritingTo: URL(fileURLWithPath: huge)).truncate(atOffset: 1 << 30)
        try FileManager.default.copyItem(atPath: sine, toPath: wav + "/10000001_1.0_0_p1_14.wav")
        try FileManager.default.copyItem(atPath: sine, toPath: wav + "/10000001_1.0_0_p1_99.wav")   // audio without annotation

        let strict = try prep(["ingest", root, "--corpus", "sprsound", "--strict"], expectStatus: 2)
        XCTAssertTrue(strict.stderr.contains("--strict"), strict.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: manifests + "/recordings.csv"))

        let run = try prep(["ingest", root, "--corpus", "sprsound"])
        let problems = try String(contentsOfFile: manifests + "/ingest-problems.csv", encoding: .utf8)
        func reported(_ file: String, _ phrase: String, line: UInt = #line) {
            let hit = problems.split(separator: "\n").contains { $0.contains(file) && $0.contains(phrase) }
            XCTAssertTrue(hit, "\(file): no problem mentioning '\(phrase)' in\n\(problems)", line: line)
        }
        reported("10000001_1.0_0_p1_2.json", "invalid or truncated JSON")
        reported("10000001_1.0_0_p1_3.json", "JSON array, expected an object")
        reported("10000001_1.0_0_p1_4.json", "'ten' is not a number of milliseconds")
        reported("10000001_1.0_0_p1_4.json", "negative start -3 ms")
        reported("10000001_1.0_0_p1_5.json", "unknown event type 'Squeak'")
        reported("10000001_1.0_0_p1_5.json", "zero-length event")
        reported("10000001_1.0_0_p1_6.json", "not in time order: sorted")
        reported("10000001_1.0_0_p1_6.json", "overlaps")
        reported("10000001_1.0_0_p1_7.json", "ends after the audio (2.0 s): clamped")
        reported("10000001_1.0_0_p1_7.json", "lies after the audio's end")
        reported("10000001_1.0_0_p1_8.json", "annotation without audio")
        reported("10000001_1.0_0_p1_9.wav", "skipped_file")
        reported("10000001_1.0_0_p1_10.json", "empty event list: the record item only")
        reported("_1.0_0_p1_11.json", "empty patient id")
        reported("_1.0_0_p1_11.json", "read as 'Wheeze+Crackle'")
        reported("not_a_valid_name.json", "file name is not <patient>_<age>_<gender>_<location>_<recording>")
        reported("10000001_1.0_0_p1_12.json", "empty file")
        reported("10000001_1.0_0_p1_13.json", "no valid event and no record label")
        reported("10000001_1.0_0_p1_99.wav", "audio without annotation")
        reported("10000001_1.0_0_p1_14.json", "more than an annotation file can be")
        let recordings = try String(contentsOfFile: manifests + "/recordings.csv", encoding: .utf8)
        for kept in ["_1", "_4", "_5", "_6", "_7", "_10", "_11"] {
            XCTAssertTrue(recordings.contains("_1.0_0_p1\(kept),"), "\(kept) kept:\n\(recordings)")
        }
        for dropped in ["_2,", "_3,", "_8,", "_9,", "_12,", "_13,", "_14,"] { XCTAssertFalse(recordings.contains("_1.0_0_p1\(dropped)"), dropped) }
        XCTAssertTrue(recordings.contains("10000001_1.0_0_p1_10,10000001,1.0,0,p1,10,2022,train,Poor Quality,0,"), recordings)
        XCTAssertTrue(run.stdout.contains("skipped ("), run.stdout)
        try prep(["features", "--length", "1"])
    }
}
