import AudioDSP
import Durability
import FeatureStore
import Foundation
import ICBHI
import Manifests

/// Ingest of one recording (runs on a worker thread; touches only this recording's files).
struct RecordingWork {
    let options: IngestOptions
    let store: CycleAudioStore
    let metadata: DatasetMetadata
    let previous: RecordingRecord?
    let publisher: DurablePublisher

    func run(_ recording: DiscoveredRecording) -> IngestPipeline.RecordingOutcome {
        var outcome = IngestPipeline.RecordingOutcome()
        let readText: Data?
        do { readText = try RegularFile.contents(atPath: recording.txtPath) } catch {
            outcome.problems.append(Problem(file: recording.txtPath, line: nil, reason: error.reason, kind: .skippedFile))
            return outcome
        }
        guard let txtData = readText else {
            outcome.problems.append(Problem(file: recording.txtPath, line: nil, reason: "cannot read annotation file", kind: .skippedFile))
            return outcome
        }
        let txtSHA256 = FileDigest.sha256(of: txtData)
        let parsed = AnnotationParser.parse(txtData, file: recording.txtPath)
        outcome.problems = parsed.problems
        guard !parsed.cycles.isEmpty else { return outcome }

        let attributes = try? FileManager.default.attributesOfItem(atPath: recording.wavPath)
        let wavBytes = (attributes?[.size] as? NSNumber)?.intValue ?? -1
        let wavModified = (attributes?[.modificationDate] as? Date)?.timeIntervalSince1970 ?? -1

        do {
            if let previous, let reused = reuse(previous, recording: recording, cycles: parsed.cycles, txtSHA256: txtSHA256,
                                                wavBytes: wavBytes, wavModified: wavModified) {
                outcome.record = reused.record
                outcome.cycles = reused.cycles
                outcome.problems += reused.problems
                outcome.reused = true
                return outcome
            }
            let audio = try AudioDecoder.decode(contentsOf: recording.wavPath)
            let wavSHA256 = try FileDigest.sha256(ofFileAt: recording.wavPath)
            var faded = try Resampler(kind: options.resampler).resample(audio.samples, from: audio.sampleRate,
                                                                        to: ReferenceAudio.sampleRate)
            try Fade.recording.apply(to: &faded)

            let sliced = slice(parsed.cycles, recording: recording, frames16k: faded.count)
            var samples: [Float] = []
            samples.reserveCapacity(sliced.cycles.reduce(0) { $0 + $1.sampleCount })
            var offsets: [Int64] = [0]
            for cycle in sliced.cycles {
                samples.append(contentsOf: faded[cycle.sliceBegin..<cycle.sliceEnd])
                offsets.append(Int64(samples.count))
            }
            outcome.problems += sliced.problems
            guard !sliced.cycles.isEmpty else { return outcome }
            let provenance = CycleAudioStore.Provenance(resampler: options.resampler.rawValue, wavSHA256: wavSHA256,
                                                        txtSHA256: txtSHA256, cycles: sliced.cycles.count)
            guard outcome.stageAudio(stem: recording.stem.name, samples: samples, offsets: offsets,
                                     cycleIndices: sliced.cycles.map { Int32($0.index) }, provenance: provenance,
                                     sourceRate: audio.sampleRate, store: store, publisher: publisher,
                                     strict: options.strict) else { return outcome }
            outcome.record = RecordingRecord(
                stem: recording.stem, sourceStem: recording.sourceStem, sourceRate: audio.sampleRate,
                bitDepth: audio.bitDepth, channels: audio.channels, frames: audio.frames, frames16k: faded.count,
                split: metadata.split(of: recording.stem), fold: metadata.fold(ofPatient: recording.stem.patient),
                cycles: sliced.cycles.count, wavSHA256: wavSHA256, txtSHA256: txtSHA256, wavBytes: wavBytes,
                wavModified: wavModified)
            outcome.cycles = sliced.cycles
        } catch {
            outcome.problems.append(Problem(file: recording.wavPath, line: nil,
                                            reason: audioFailureReason(error, wavPath: recording.wavPath), kind: .skippedFile))
            outcome.record = nil
            outcome.cycles = []
        }
        return outcome
    }

    /// The previous run's result for this recording, if its inputs and options are unchanged and
    /// its audio file says so too (same resampler, same input hashes, same cycle count).
    private func reuse(_ previous: RecordingRecord, recording: DiscoveredRecording, cycles: [AnnotatedCycle],
                       txtSHA256: String, wavBytes: Int, wavModified: Double) -> (record: RecordingRecord, cycles: [CycleRecord], problems: [Problem])? {
        guard previous.sourceStem == recording.sourceStem, previous.wavBytes == wavBytes,
              previous.wavModified == wavModified, previous.txtSHA256 == txtSHA256 else { return nil }
        let sliced = slice(cycles, recording: recording, frames16k: previous.frames16k)
        var record = previous
        record.split = metadata.split(of: recording.stem)
        record.fold = metadata.fold(ofPatient: recording.stem.patient)
        record.cycles = sliced.cycles.count
        guard !sliced.cycles.isEmpty, store.canReuseAudio(of: record, resampler: options.resampler.rawValue) else { return nil }
        return (record, sliced.cycles, sliced.problems)
    }

    /// REFERENCE.md step 4 for every annotated cycle (`CycleSlicing`, shared with `predict`): clamp
    /// to the audio (with a notice), reject cycles that are empty after clamping (they cannot be padded).
    private func slice(_ cycles: [AnnotatedCycle], recording: DiscoveredRecording, frames16k: Int) -> (cycles: [CycleRecord], problems: [Problem]) {
        var records: [CycleRecord] = [], problems: [Problem] = []
        let seconds = Double(frames16k) / Double(ReferenceAudio.sampleRate)
        for cycle in cycles {
            guard case .kept(let bounds, let clamped) = CycleSlicing.slice(cycle, sampleRate: ReferenceAudio.sampleRate, frames: frames16k) else {
                problems.append(Problem(file: recording.txtPath, line: cycle.line,
                                        reason: "cycle \(cycle.start)-\(cycle.end) s is empty after clamping to the audio (\(seconds) s): rejected, it cannot be padded",
                                        kind: .skippedCycle))
                continue
            }
            if clamped {
                problems.append(Problem(file: recording.txtPath, line: cycle.line,
                                        reason: "cycle ends at \(cycle.end) s, after the audio (\(seconds) s): clamped",
                                        kind: .clampedCycle))
            }
            let patient = recording.stem.patient
            records.append(CycleRecord(
                recording: recording.stem, index: cycle.index, start: cycle.start, end: cycle.end, crackle: cycle.crackle,
                wheeze: cycle.wheeze, split: metadata.split(of: recording.stem), fold: metadata.fold(ofPatient: patient),
                sliceBegin: bounds.lowerBound, sliceEnd: bounds.upperBound,
                demographics: metadata.demographics(ofPatient: patient), diagnosis: metadata.diagnosis(ofPatient: patient)))
        }
        return (records, problems)
    }
}
