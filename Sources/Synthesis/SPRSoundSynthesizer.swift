import AudioDSP
import Foundation
import ICBHI
import SPRSound
#if canImport(Glibc)
import Glibc
#endif

/// `prep synth --corpus sprsound`: an SPRSound-shaped corpus of SYNTHETIC audio.
///
/// Two modes. Given annotations (e.g. the 51 real samples in ../shared/sprsound/annotations): every `<stem>.json` below the
/// annotation directory is copied verbatim to the same place in OUT, and a `<stem>.wav` is
/// written in the sibling `*_wav` folder. Full scale: 1,949 train + 355 inter-patient + 379
/// intra-patient test recordings (the 2022 release's counts) in the BioCAS2022 layout, each with
/// a variant-A JSON whose events are a real labelled sample's (same record label), jittered. The
/// audio is the ICBHI synth's label-conditioned lung sound model (crackle types -> crackles,
/// Rhonchi/Wheeze/Stridor -> wheezes), at 8 kHz 16-bit mono. Same seed, same bytes, any `jobs`.
public struct SPRSoundSynthesizer: Sendable {
    public static let readmeMarker = "SYNTHETIC SPRSOUND-SHAPED CORPUS - NOT THE SPRSOUND RECORDINGS"

    public struct Options: Sendable {
        public var outputDirectory: String
        /// Given-annotations mode: the annotation tree; nil with `fullScale`.
        public var annotationsDirectory: String
        /// Full-scale mode; the annotations are then the templates.
        public var fullScale = false
        /// Full-scale counts (train, inter-patient test, intra-patient test).
        public var counts = (train: 1949, inter: 355, intra: 379)
        public var seed: UInt64 = 20220101
        public var sampleRate = 8000
        public var jobs = ProcessInfo.processInfo.activeProcessorCount
        public var model = LungSoundModel()

        public init(outputDirectory: String, annotationsDirectory: String) {
            self.outputDirectory = outputDirectory
            self.annotationsDirectory = annotationsDirectory
        }
    }

    /// One file to write: its JSON text (relative path) and audio (relative path, events, length).
    public struct Plan: Sendable {
        public let stem: String
        public let jsonPath: String
        public let wavPath: String
        public let json: Data
        public let events: [SPRSoundAnnotation.Event]
        public let seconds: Double
    }

    public struct Report: Sendable {
        public let outputDirectory: String
        public let recordings: Int
        public let events: Int
        public let audioSeconds: Double
        public let elapsedSeconds: Double

        public func summary() -> String {
            "synth (SPRSound): \(recordings) recordings, \(events) events, \(String(format: "%.0f", audioSeconds)) s of SYNTHETIC audio -> \(outputDirectory) in \(String(format: "%.1f", elapsedSeconds)) s"
        }
    }

    public let options: Options
    public init(options: Options) { self.options = options }

    /// The sample annotations below `annotationsDirectory`, as (relative path, bytes), sorted.
    func annotationFiles() throws(SynthesisError) -> [(path: String, data: Data)] {
        let root = options.annotationsDirectory
        guard let walker = FileManager.default.enumerator(atPath: root) else { throw .input("\(root): cannot list the annotation directory") }
        var paths: [String] = []
        while let relative = walker.nextObject() as? String {
            if relative.hasSuffix(".json"), !relative.split(separator: "/").contains(where: { $0.hasPrefix(".") }) { paths.append(relative) }
        }
        guard !paths.isEmpty else { throw .input("\(root): no .json annotation files") }
        var files: [(path: String, data: Data)] = []
        for path in paths.sorted() {
            guard let data = FileManager.default.contents(atPath: root + "/" + path) else { throw .input("\(root)/\(path): cannot read") }
            files.append((path, data))
        }
        return files
    }

    /// Every file of the corpus, in a fixed order.
    public func plan() throws(SynthesisError) -> [Plan] {
        let files = try annotationFiles()
        if !options.fullScale {
            return files.compactMap { file in
                let annotation = SPRSoundAnnotation.parse(file.data)
                guard !annotation.unusable else { return nil }
                let folders = file.path.split(separator: "/").dropLast().map(String.init)
                let stem = String(file.path.split(separator: "/").last!.dropLast(5))
                let wavFolders = folders.map { $0.hasSuffix("_json") ? String($0.dropLast(5)) + "_wav" : $0 }
                return Plan(stem: stem, jsonPath: file.path, wavPath: (wavFolders + [stem + ".wav"]).joined(separator: "/"),
                            json: file.data, events: annotation.events, seconds: Self.length(covering: annotation.events))
            }
        }
        return try fullScalePlan(templates: files.map { SPRSoundAnnotation.parse($0.data) })
    }

    /// A recording length that covers the events: 9.2 s or 15.4 s as many SPRSound records
    /// (FORMAT.md), else a little past the last event.
    static func length(covering events: [SPRSoundAnnotation.Event]) -> Double {
        let last = events.map(\.end).max() ?? 0
        return [9.2, 15.4].first { $0 >= last + 0.05 } ?? (last + 0.3)
    }

    /// Record labels' shares in the full-scale corpus: roughly the 2022 training set's as the
    /// SPRSound paper reports them (Normal 1303, CAS 126, DAS 338, CAS & DAS 52, Poor Quality 130
    /// of 1949; quoted from memory, not checked against the release).
    static let recordLabelWeights: [(String, Double)] = [("Normal", 1303), ("CAS", 126), ("DAS", 338), ("CAS & DAS", 52), ("Poor Quality", 130)]

    func fullScalePlan(templates: [SPRSoundAnnotation]) throws(SynthesisError) -> [Plan] {
        var byLabel: [String: [[SPRSoundAnnotation.Event]]] = [:]
        for template in templates { if let label = template.recordLabel, !template.events.isEmpty { byLabel[label, default: []].append(template.events) } }
        guard byLabel["Normal"] != nil else { throw .input("\(options.annotationsDirectory): no labelled Normal annotation to use as a template") }
        var random = Xoshiro256StarStar(seed: options.seed)
        // Patients: train ~230, inter-patient test ~62 new ones; intra-patient test reuses train patients.
        struct Patient { let id: String; let age: Double; let gender: Int }
        func patients(_ count: Int, from first: Int) -> [Patient] {
            (0..<count).map { i in
                Patient(id: String(format: "%08d", 40_000_000 + (first + i) * 7919), age: (random.uniform(0.1, 17.9) * 10).rounded() / 10,
                        gender: random.unit() < 0.45 ? 1 : 0)
            }
        }
        let train = patients(230, from: 0), inter = patients(62, from: 230)
        var recordingNumber = 100
        var plans: [Plan] = []
        let layouts: [(count: Int, patients: [Patient], json: String, wav: String)] = [
            (options.counts.train, train, "BioCAS2022/train2022_json", "BioCAS2022/train2022_wav"),
            (options.counts.inter, inter, "BioCAS2022/test2022_json/inter_test_json", "BioCAS2022/test2022_wav/inter_test_wav"),
            (options.counts.intra, train, "BioCAS2022/test2022_json/intra_test_json", "BioCAS2022/test2022_wav/intra_test_wav"),
        ]
        let total = Self.recordLabelWeights.reduce(0) { $0 + $1.1 }
        for layout in layouts {
            for _ in 0..<layout.count {
                let patient = layout.patients[Int(random.next() % UInt64(layout.patients.count))]
                var pick = random.unit() * total, label = "Normal"
                for (name, weight) in Self.recordLabelWeights { if pick < weight { label = name; break }; pick -= weight }
                var events: [SPRSoundAnnotation.Event] = []
                if label != "Poor Quality" {
                    let pool = byLabel[label] ?? byLabel["Normal"]!
                    let template = pool[Int(random.next() % UInt64(pool.count))]
                    let scale = random.uniform(0.9, 1.1), shift = random.uniform(-0.2, 0.2)
                    for (k, event) in template.enumerated() {
                        let start = max(0, (event.start * scale + shift) * 1000).rounded()
                        let end = max(start + 50, ((event.end * scale + shift) * 1000).rounded())
                        events.append(.init(position: k, start: start / 1000, end: end / 1000, type: event.type))
                    }
                }
                recordingNumber += 1 + Int(random.next() % 3)
                let location = "p\(1 + Int(random.next() % 4))"
                let stem = "\(patient.id)_\(String(format: "%.1f", patient.age))_\(patient.gender)_\(location)_\(recordingNumber)"
                let seconds = events.isEmpty ? [9.2, 15.4][Int(random.next() % 2)] : Self.length(covering: events)
                plans.append(Plan(stem: stem, jsonPath: "\(layout.json)/\(stem).json", wavPath: "\(layout.wav)/\(stem).wav",
                                  json: Self.variantA(label: label, events: events), events: events, seconds: seconds))
            }
        }
        return plans
    }

    /// Schema A: one line, times as strings of whole milliseconds.
    static func variantA(label: String, events: [SPRSoundAnnotation.Event]) -> Data {
        let items = events.map { "{\"start\": \"\(Int(($0.start * 1000).rounded()))\", \"end\": \"\(Int(($0.end * 1000).rounded()))\", \"type\": \"\($0.type)\"}" }
        return Data("{\"record_annotation\": \"\(label)\", \"event_annotation\": [\(items.joined(separator: ", "))]}".utf8)
    }

    /// One recording's audio: the lung sound model with each event as a cycle of its class.
    public func render(_ plan: Plan) -> [Float] {
        let cycles = plan.events.enumerated().map { k, event in
            let type = event.type
            return AnnotatedCycle(index: k, start: event.start, end: event.end,
                                  crackle: type.contains("Crackle"),
                                  wheeze: ["Rhonchi", "Wheeze", "Stridor", "Wheeze+Crackle"].contains(type), line: k + 1)
        }
        return options.model.render(cycles: cycles, sampleRate: options.sampleRate,
                                    frames: Int((plan.seconds * Double(options.sampleRate)).rounded()),
                                    seed: CorpusSynthesizer.recordingSeed(corpusSeed: options.seed, stem: plan.stem))
    }

    public func run(progress: @escaping @Sendable (Int, Int) -> Void = { _, _ in }) throws(SynthesisError) -> Report {
        let started = Date()
        guard options.jobs >= 1 else { throw .input("--jobs must be at least 1, got \(options.jobs)") }
        let plans = try plan()
        let output = options.outputDirectory
        try prepare(output)
        let failures = LockedFailures()
        let next = Counter()
        DispatchQueue.concurrentPerform(iterations: max(1, min(options.jobs, plans.count))) { _ in
            while let index = next.take(below: plans.count), !failures.any {
                let plan = plans[index]
                do throws(SynthesisError) {
                    try Self.write(plan.json, to: output + "/" + plan.jsonPath)
                    let wav = output + "/" + plan.wavPath
                    try SynthesisFile.makeDirectory(containing: wav)
                    let temporary = SynthesisFile.partialPath(wav)
                    do throws(AudioEncoder.EncodingError) {
                        try AudioEncoder.writeWAV(render(plan), sampleRate: options.sampleRate, bitDepth: 16, to: temporary)
                    } catch {
                        unlink(temporary)
                        throw SynthesisError.write(path: wav, reason: error.message)
                    }
                    try SynthesisFile.rename(temporary, to: wav)
                } catch {
                    failures.store(error)
                }
                progress(next.finish(), plans.count)
            }
        }
        if let failure = failures.first { throw failure }
        return Report(outputDirectory: output, recordings: plans.count, events: plans.reduce(0) { $0 + $1.events.count },
                      audioSeconds: plans.reduce(0) { $0 + $1.seconds }, elapsedSeconds: Date().timeIntervalSince(started))
    }

    /// Creates OUT, or accepts an earlier SPRSound synth output (whose files are then replaced).
    private func prepare(_ path: String) throws(SynthesisError) {
        let manager = FileManager.default
        let names = (try? manager.contentsOfDirectory(atPath: path)) ?? []
        if !names.isEmpty {
            let readme = (try? String(contentsOfFile: path + "/README.txt", encoding: .utf8)) ?? ""
            guard readme.hasPrefix(Self.readmeMarker) else { throw .notSyntheticDirectory(path: path, example: names.sorted().first!) }
        }
        let mode = options.fullScale ? "a full-scale corpus (\(options.counts.train) train, \(options.counts.inter) inter-patient test, \(options.counts.intra) intra-patient test recordings) whose events copy the real sample annotations' (jittered)" : "the audio for the real sample annotations copied beside it"
        let text = """
        \(Self.readmeMarker)

        Every .wav file below this directory is SYNTHETIC audio made by `prep synth --corpus sprsound`
        (seed \(options.seed), \(options.sampleRate) Hz, 16-bit mono): \(mode). It is not, and is not
        derived from, the SPRSound recordings. Use it to test and time the pipeline, never to report
        results on SPRSound.

        """
        try Self.write(Data(text.utf8), to: path + "/README.txt")
    }

    /// Writes `data` atomically to `path`, creating its directory.
    private static func write(_ data: Data, to path: String) throws(SynthesisError) {
        try SynthesisFile.makeDirectory(containing: path)
        try SynthesisFile.writeAtomically(data, to: path)
    }
}

private final class LockedFailures: @unchecked Sendable {
    private let lock = NSLock()
    private var error: SynthesisError?
    var any: Bool { lock.withLock { error != nil } }
    var first: SynthesisError? { lock.withLock { error } }
    func store(_ failure: SynthesisError) { lock.withLock { if error == nil { error = failure } } }
}
