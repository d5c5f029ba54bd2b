import FeatureStore
import ICBHI
import Manifests

// Where the corpora's manifests meet the storage layer, which knows nothing of ICBHI or SPRSound:
// manifest rows become shard rows, and recordings.csv says what each cycle-audio file must hold.

extension ShardRow {
    /// A manifest cycle as a shard stores it.
    init(_ cycle: CycleRecord) {
        self.init(id: cycle.id, recording: cycle.recording.name, patient: cycle.recording.patient,
                  label: cycle.label.rawValue, binaryLabel: cycle.label.binary, crackle: cycle.crackle, wheeze: cycle.wheeze,
                  split: cycle.split.rawValue, fold: cycle.fold, device: cycle.recording.device.rawValue,
                  location: cycle.recording.location.rawValue, start: cycle.start, end: cycle.end)
    }
}

extension CycleAudioStore.Provenance {
    /// What a recording's cycle-audio file must say it came from, per its row of recordings.csv.
    init(_ record: RecordingRecord, resampler: String) {
        self.init(resampler: resampler, wavSHA256: record.wavSHA256, txtSHA256: record.txtSHA256, cycles: record.cycles)
    }
}

extension CycleAudioStore {
    /// The one provenance check (ingest reuse, `prep features`, `prep verify`): the recording's
    /// cycle audio is what its row of recordings.csv describes, written with `resampler`. False
    /// when the file is missing or unreadable.
    func holdsAudio(of record: RecordingRecord, resampler: String) -> Bool {
        provenance(stem: record.stem.name) == Provenance(record, resampler: resampler)
    }

    /// Whether ingest may keep a recording's cycle audio: it holds that audio and records its
    /// samples' checksum (files written before checksums are redone once, to the same samples,
    /// so that `prep verify` can check them from then on).
    func canReuseAudio(of record: RecordingRecord, resampler: String) -> Bool {
        holdsAudio(of: record, resampler: resampler) && recordsChecksum(stem: record.stem.name)
    }

    /// `holdsAudio(of:resampler:)` for a row of SPRSound's recordings.csv.
    func holdsAudio(of record: SPRSoundRecordingRow, resampler: String) -> Bool {
        provenance(stem: record.stem) == record.provenance(resampler: resampler)
    }

    /// `canReuseAudio(of:resampler:)` for a row of SPRSound's recordings.csv.
    func canReuseAudio(of record: SPRSoundRecordingRow, resampler: String) -> Bool {
        holdsAudio(of: record, resampler: resampler) && recordsChecksum(stem: record.stem)
    }
}
