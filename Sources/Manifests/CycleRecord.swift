import Durability
import ICBHI

/// One row of `cycles.csv`: a labelled breathing cycle with its place in the 16 kHz audio
/// and everything a researcher filters on (split, fold, device, location, demographics).
public struct CycleRecord: Sendable, Equatable {
    public var recording: RecordingStem
    public var index: Int                  // k: position among the recording's valid cycles
    public var start: Double
    public var end: Double
    public var crackle: Bool
    public var wheeze: Bool
    public var split: Split
    public var fold: Int?
    public var sliceBegin: Int             // [sliceBegin, sliceEnd) in the faded 16 kHz recording
    public var sliceEnd: Int
    public var demographics: Demographics?
    public var diagnosis: String?

    public init(recording: RecordingStem, index: Int, start: Double, end: Double, crackle: Bool, wheeze: Bool,
                split: Split, fold: Int?, sliceBegin: Int, sliceEnd: Int, demographics: Demographics?,
                diagnosis: String?) {
        self.recording = recording
        self.index = index
        self.start = start
        self.end = end
        self.crackle = crackle
        self.wheeze = wheeze
        self.split = split
        self.fold = fold
        self.sliceBegin = sliceBegin
        self.sliceEnd = sliceEnd
        self.demographics = demographics
        self.diagnosis = diagnosis
    }

    /// Stable identifier `<stem>#<k>`.
    public var id: String { "\(recording.name)#\(index)" }
    public var label: CycleLabel { CycleLabel(crackle: crackle, wheeze: wheeze) }
    public var sampleCount: Int { sliceEnd - sliceBegin }

    public static let header = [
        "cycle_id", "recording", "patient", "k", "start", "end", "crackle", "wheeze", "label", "label_name", "label2",
        "split", "fold", "device", "location", "mode", "slice_begin", "slice_end", "samples_16k", "age", "sex",
        "adult_bmi", "child_weight", "child_height", "diagnosis",
    ]

    public var fields: [String] {
        func number(_ value: Double?) -> String { value.map { String($0) } ?? "" }
        return [
            id, recording.name, String(recording.patient), String(index), String(start), String(end),
            crackle ? "1" : "0", wheeze ? "1" : "0", String(label.rawValue), label.name, String(label.binary),
            split.rawValue, fold.map(String.init) ?? "", recording.device.rawValue, recording.location.rawValue,
            recording.mode.rawValue, String(sliceBegin), String(sliceEnd), String(sampleCount),
            number(demographics?.age), demographics?.sex ?? "", number(demographics?.adultBMI),
            number(demographics?.childWeight), number(demographics?.childHeight), diagnosis ?? "",
        ]
    }

    /// Reads `cycles.csv`.
    public static func read(table: CSVTable, path: String) throws -> [CycleRecord] {
        func col(_ name: String) throws -> Int { try table.column(name, path: path) }
        let c = try (rec: col("recording"), k: col("k"), start: col("start"), end: col("end"), crackle: col("crackle"),
                     wheeze: col("wheeze"), split: col("split"), fold: col("fold"), begin: col("slice_begin"),
                     sliceEnd: col("slice_end"), age: col("age"), sex: col("sex"), bmi: col("adult_bmi"),
                     weight: col("child_weight"), height: col("child_height"), diagnosis: col("diagnosis"))
        return try table.rows.enumerated().map { offset, row in
            func bad(_ what: String) -> StoreError { .malformed(path: path, line: offset + 2, reason: "bad \(what)") }
            guard let stem = try? RecordingStem(parsing: row[c.rec]) else { throw bad("recording") }
            guard let k = Int(row[c.k]), let start = Double(row[c.start]), let end = Double(row[c.end]),
                  let begin = Int(row[c.begin]), let sliceEnd = Int(row[c.sliceEnd]) else { throw bad("number") }
            guard let split = Split(rawValue: row[c.split]) else { throw bad("split") }
            let demographics = Demographics(age: Double(row[c.age]), sex: row[c.sex].isEmpty ? nil : row[c.sex],
                                            adultBMI: Double(row[c.bmi]), childWeight: Double(row[c.weight]),
                                            childHeight: Double(row[c.height]))
            let known = demographics != Demographics(age: nil, sex: nil, adultBMI: nil, childWeight: nil, childHeight: nil)
            return CycleRecord(recording: stem, index: k, start: start, end: end, crackle: row[c.crackle] == "1",
                               wheeze: row[c.wheeze] == "1", split: split, fold: Int(row[c.fold]), sliceBegin: begin,
                               sliceEnd: sliceEnd, demographics: known ? demographics : nil,
                               diagnosis: row[c.diagnosis].isEmpty ? nil : row[c.diagnosis])
        }
    }
}
