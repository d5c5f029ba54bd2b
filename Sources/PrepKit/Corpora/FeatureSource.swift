import FeatureStore
import Foundation
import Manifests

/// One item a feature set stores: which stored 16 kHz samples it is (an entry of a recording's
/// cycle-audio file) and the shard row it becomes. Corpus recipes make these from their
/// manifests; `prep features` and the shards know nothing else of a corpus.
struct FeatureItem: Sendable {
    let row: ShardRow
    /// The entry's `cycle_index` in that file.
    let index: Int
    /// Samples of the entry, as the manifest says.
    let sampleCount: Int

    /// The stem of the recording's cycle-audio file (the row's recording).
    var recording: String { row.recording }
    var id: String { row.id }
    var split: String { row.split }
}

/// What `prep features` reads from an ingest: the items in manifest order and the manifest they
/// come from.
struct FeatureSource: Sendable {
    /// Every item, in manifest order.
    let items: [FeatureItem]
    /// The manifest the items come from (`source.cycles_manifest` in index.json).
    let manifestPath: String
}

/// The corpora `prep` knows, each a recipe: discovery, annotation parsing, labels and tasks,
/// splits, metadata. Everything corpus-specific is reached through here.
public enum Corpus: String, Sendable, CaseIterable {
    case icbhi
    case sprsound

    /// The corpus of an ingest (`ingest.json` without `corpus`: ICBHI, as every older cache).
    init(ingest: IngestState) throws {
        guard let name = ingest.corpus else { self = .icbhi; return }
        guard let corpus = Corpus(rawValue: name) else {
            throw PrepError.input("ingest.json names corpus '\(name)', which this prep does not know (\(Corpus.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        self = corpus
    }

    /// The corpus a directory holds: SPRSound if a `*_json` folder below it holds JSON files
    /// (FORMAT.md's layouts), else ICBHI (whose own checks then say what is wrong).
    public static func detect(directory: String) -> Corpus {
        SPRSoundDiscovery.looksLikeSPRSound(directory) ? .sprsound : .icbhi
    }

    /// Where `prep ingest` writes the corpus's manifests when `--manifests` is not given.
    public var defaultManifestDirectory: String {
        switch self {
        case .icbhi: IngestOptions(datasetDirectory: "").manifestDirectory
        case .sprsound: "manifests/sprsound"
        }
    }

    /// `index.json`'s format: ICBHI's stays `icbhi-feature-shards/1` (older caches and readers).
    var featureFormat: String {
        switch self {
        case .icbhi: FeatureSetIndex.formatName
        case .sprsound: FeatureSetIndex.corpusFormatName
        }
    }

    /// Shard order of the splits; a split not listed comes after them, by name.
    var splitOrder: [String] {
        switch self {
        case .icbhi: ICBHIRecipe.splitOrder
        case .sprsound: SPRSoundRecipe.splitOrder
        }
    }

    /// The splits present in `names`, each once: those `listed` first, in its order, then the
    /// others by name (shard order, ingest's tables).
    static func ordered(splits names: [String], listed: [String]) -> [String] {
        let present = Set(names)
        return listed.filter(present.contains) + present.subtracting(listed).sorted()
    }

    /// The tasks of a task-described feature set; nil for ICBHI's fixed label columns.
    var tasks: [FeatureSetIndex.LabelTask]? {
        switch self {
        case .icbhi: nil
        case .sprsound: SPRSoundRecipe.tasks
        }
    }

    /// The shards' `description` attribute.
    var shardDescription: String {
        switch self {
        case .icbhi: "ICBHI 2017 breathing cycles as Kaldi-compatible log mel filterbanks (Patch-Mix CL preprocessing); see the project README"
        case .sprsound: "SPRSound respiratory events and whole recordings as Kaldi-compatible log mel filterbanks; see docs/sprsound.md"
        }
    }

    /// `prep verify`'s check of an ingest of this corpus: its manifests and cycle audio.
    func verifyIngest(state: IngestState, cacheDirectory: String) -> (findings: [FeatureSetVerifier.Finding], recordings: Int, cycles: Int, uncheckedAudio: Int) {
        switch self {
        case .icbhi: ICBHIRecipe.verifyIngest(state: state, cacheDirectory: cacheDirectory)
        case .sprsound: SPRSoundRecipe.verifyIngest(state: state, cacheDirectory: cacheDirectory)
        }
    }

    /// The items of an ingest, checked against it (manifest digest, cycle audio provenance).
    func featureSource(ingest: IngestState, audio: CycleAudioStore, jobs: Int) throws -> FeatureSource {
        switch self {
        case .icbhi: try ICBHIRecipe.featureSource(ingest: ingest, audio: audio, jobs: jobs)
        case .sprsound: try SPRSoundRecipe.featureSource(ingest: ingest, audio: audio, jobs: jobs)
        }
    }
}
