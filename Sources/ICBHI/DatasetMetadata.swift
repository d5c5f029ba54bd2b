import Foundation

/// Everything the ICBHI archive says about recordings and patients apart from the audio
/// and the annotations: the official split, the patient folds, demographics, diagnoses
/// and the renamed files of older archive releases.
///
/// Loaded once from the five text files (see `MetadataLoader` for their formats), then
/// answered from memory. Loading is strict: any malformed line or contradiction throws a
/// `DatasetError` naming file and line, because a wrong split silently changes every
/// reported score.
public struct DatasetMetadata: Sendable {
    /// The names of the files `init(directory:)` reads.
    public enum FileName {
        public static let officialSplit = "official_split.txt"
        public static let folds = "patient_list_foldwise.txt"
        public static let demographics = "demographic_info.txt"
        public static let diagnoses = "patient_diagnosis.txt"
        public static let filenameDifferences = "filename_differences.txt"
    }

    /// Where the files were read from.
    public let directory: URL
    /// Every recording in `official_split.txt`, sorted.
    public let recordings: [RecordingStem]
    let splits: [RecordingStem: Split]
    let folds: [Int: Int]
    let demographicsByPatient: [Int: Demographics]
    let diagnoses: [Int: String]
    let currentNames: [String: String]

    /// Reads the five metadata files in `directory`.
    ///
    /// - Throws: `DatasetError` naming the file and, where it applies, the line.
    public init(directory: URL) throws(DatasetError) {
        let loader = MetadataLoader(directory: directory)
        let splits = try loader.officialSplit()
        self.directory = directory
        self.splits = splits
        self.recordings = splits.keys.sorted()
        self.folds = try loader.folds()
        self.demographicsByPatient = try loader.demographics()
        self.diagnoses = try loader.diagnoses()
        self.currentNames = try loader.currentNames(known: Set(splits.keys))
    }

    /// The copy vendored with this repository, in `manifests/icbhi` under `repositoryRoot`.
    public static func bundled(repositoryRoot: URL) throws(DatasetError) -> DatasetMetadata {
        try DatasetMetadata(directory: bundledDirectory(repositoryRoot: repositoryRoot))
    }

    /// `manifests/icbhi` under `repositoryRoot`: also where the vendored annotations live.
    public static func bundledDirectory(repositoryRoot: URL) -> URL {
        repositoryRoot.appendingPathComponent("manifests", isDirectory: true)
            .appendingPathComponent("icbhi", isDirectory: true)
    }

    /// The official split of a recording; `.unassigned` if the split does not list it.
    public func split(of stem: RecordingStem) -> Split { splits[stem] ?? .unassigned }

    /// The patient-wise cross-validation fold (0 to 4), if the patient is listed.
    public func fold(ofPatient patient: Int) -> Int? { folds[patient] }

    /// The patient's demographics; `nil` if the patient has no row.
    public func demographics(ofPatient patient: Int) -> Demographics? { demographicsByPatient[patient] }

    /// The patient's diagnosis as written (COPD, Healthy, URTI, ...), if listed.
    public func diagnosis(ofPatient patient: Int) -> String? { diagnoses[patient] }

    /// The current name of a recording that an older archive release named `oldName`
    /// (without quotes or extension), e.g. `101_1b1_Al_sc_AKGC417L` ->
    /// `101_1b1_Al_sc_Meditron`. `nil` if `oldName` is not one of the renamed stems
    /// (in particular for names that are already current).
    public func currentName(forOldName oldName: String) -> String? { currentNames[oldName] }

    /// Number of recordings, and so of annotation files, the split lists (920 in full).
    public var annotationCount: Int { recordings.count }

    /// The recordings on one side of the split, sorted (empty for `.unassigned`).
    public func recordings(in split: Split) -> [RecordingStem] {
        recordings.filter { splits[$0] == split }
    }

    /// Every patient with a recording in the split, ascending.
    public var patients: [Int] { Array(Set(recordings.map(\.patient))).sorted() }

    /// The patients assigned to one cross-validation fold, ascending.
    public func patients(inFold fold: Int) -> [Int] {
        folds.filter { $0.value == fold }.map(\.key).sorted()
    }

    /// Old archive name -> current name, for every entry of `filename_differences.txt`.
    public var renamedRecordings: [String: String] { currentNames }
}
