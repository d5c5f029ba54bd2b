import Foundation

/// The paper code's `--test_fold k` protocol: train on the patients of the other four folds of
/// `patient_list_foldwise.txt`, test on fold k's, whatever the official split says. Every shard
/// row carries its patient's fold, so no feature extraction is redone; rows of patients that
/// are in no fold (fold -1) take part in neither side.
public enum FoldSelection {
    public static let folds = 0...4

    /// Rows the model trains on when fold `testFold` is held out.
    public static func trainRows(testFold: Int) -> RowSelection {
        .folds(Set(folds).subtracting([testFold]))
    }

    /// Rows the model is tested on.
    public static func testRows(testFold: Int) -> RowSelection { .folds([testFold]) }

    /// Throws when a patient has cycles on both sides: the folds file would be broken, and
    /// results would leak between training and test.
    public static func checkPatientDisjoint(train: ShardCycles, test: ShardCycles) throws(TrainingError) {
        let trainPatients = Set(train.patients.filter { $0 >= 0 })
        let shared = Set(test.patients.filter { $0 >= 0 }).intersection(trainPatients)
        guard shared.isEmpty else {
            let list = shared.sorted().prefix(10).map(String.init).joined(separator: ", ")
            throw .shards(path: train.directory,
                          message: "\(train.selection) and \(test.selection) share \(shared.count) patient(s) (\(list)): the folds are not patient-disjoint")
        }
        guard !test.patients.contains(-1) && !train.patients.contains(-1) else {
            throw .shards(path: train.directory, message: "shards have no per-row patient numbers: cannot check that the folds are patient-disjoint")
        }
    }
}
