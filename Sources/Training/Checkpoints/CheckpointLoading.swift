import Foundation
import TorchCheckpoint

/// How `--init` turns the AudioSet checkpoint's 12 x 101 grid of positional embeddings into
/// this model's grid (REFERENCE.md "Model").
public enum PositionalEmbeddingInit: String, Codable, Sendable, CaseIterable {
    /// What the paper's numbers were obtained with: its main.py swaps the input sizes, so the AST
    /// code keeps time columns 44..55, stretches the 12 frequency rows to 79 bilinearly and adds
    /// that 79 x 12 picture, flattened, to patches in 12 x 79 order.
    case paper
    /// Each patch gets the embedding of its own (frequency, time) cell: all 12 rows, time
    /// columns 11..89.
    case aligned
}

/// A checkpoint file's tensors under this trainer's names, whatever wrote it: this trainer
/// (`model` / `classifier` / `projector` / `optimizer` / `meta`, or the older layout with
/// everything under `model`), the paper code's `save_model()` (`args`, `model` with keys v.*,
/// `classifier`), or a bare AST state dict such as the AudioSet file (`module.v.*`). Read in
/// Swift by `TorchCheckpoint`: zip or legacy format, dict or OrderedDict, any float dtype.
public final class LoadedCheckpoint {
    public enum Layout: String, Sendable {
        /// Written by this trainer (has a `meta` string).
        case project
        /// Written by the paper code's save_model() (`model` and `classifier` dicts).
        case paper
        /// A bare state dict (AudioSet AST, or any flat dict of tensors).
        case stateDict = "state dict"
    }

    public let path: String
    public let layout: Layout
    /// The JSON `meta` of this trainer's checkpoints.
    public let meta: String?
    let file: TorchCheckpoint
    let tensors: [String: TensorInfo]

    public init(path: String) throws(TrainingError) {
        self.path = path
        do { file = try TorchCheckpoint(path: path) } catch { throw .checkpoint(path: path, message: error.message) }
        guard let root = file.root.dict else {
            throw .checkpoint(path: path, message: "holds a \(file.root.kind), not a state dict or a checkpoint")
        }
        let named: [(name: String, tensor: TensorInfo)]
        do { named = try file.namedTensors() } catch { throw .checkpoint(path: path, message: error.message) }
        tensors = Dictionary(named.map { ($0.name, $0.tensor) }, uniquingKeysWith: { a, _ in a })
        meta = root["meta"]?.string
        if meta != nil {
            layout = .project
        } else if root["model"]?.dict != nil {
            layout = .paper
        } else {
            layout = .stateDict
        }
        guard tensors.keys.contains(where: { Self.astKey($0) != nil }) else {
            throw .checkpoint(path: path, message: "holds no AST weights (no v.cls_token or other v.* tensor; top-level keys: \(root.namedEntries.prefix(8).map(\.name).joined(separator: ", ")))")
        }
    }

    /// "zip" or "legacy".
    public var formatName: String { file.format == .legacy ? "legacy" : "zip" }

    /// The training epoch stored by this trainer (meta) or by the paper code (`epoch`).
    public var epoch: Int? {
        if case .int(let e)? = file.root.dict?["epoch"] { return Int(e) }
        return nil
    }

    /// `v.X` for a file key that names an AST tensor (`module.v.X`, `model.v.X`, ...).
    static func astKey(_ key: String) -> String? {
        for prefix in ["", "module.", "model.", "model.module."] where key.hasPrefix(prefix + "v.") {
            return String(key.dropFirst(prefix.count))
        }
        return nil
    }

    /// The file's key for model entry `name`; `audioSetHead` admits an AST state dict's own head.
    func key(for name: String, audioSetHead: Bool = false) -> String? {
        var candidates: [String]
        if name.hasPrefix("v.") {
            candidates = [name, "module." + name, "model." + name, "model.module." + name]
        } else if name.hasPrefix("mlp_head.") {
            let rest = name.dropFirst("mlp_head.".count)
            candidates = ["classifier.\(rest)"]
            if layout == .project { candidates.append("model." + name) }          // the older layout
            if audioSetHead && layout == .stateDict { candidates += ["module." + name, name] }
        } else if name.hasPrefix("projector.") || name.hasPrefix("domain_head.") {
            candidates = [name, "model." + name]
        } else {
            candidates = [name]
        }
        return candidates.first { tensors[$0] != nil }
    }

    func tensor(for name: String, audioSetHead: Bool = false) -> (key: String, info: TensorInfo)? {
        key(for: name, audioSetHead: audioSetHead).map { ($0, tensors[$0]!) }
    }

    // MARK: architecture

    /// The AST's shape as stored: read off the tensor shapes.
    public func architecture() throws(TrainingError) -> CheckpointArchitecture {
        func shape(_ name: String) throws(TrainingError) -> [Int] {
            guard let t = tensor(for: name) else { throw .checkpoint(path: path, message: "no \(name) tensor: cannot tell the model's shape") }
            return t.info.shape
        }
        let cls = try shape("v.cls_token"), pos = try shape("v.pos_embed"), patch = try shape("v.patch_embed.proj.weight")
        guard cls.count == 3, let dim = cls.last, dim > 0, pos.count == 3, pos[2] == dim, pos[1] > 2,
              patch.count == 4, patch[0] == dim, patch[1] == 1, patch[2] == patch[3] else {
            throw .checkpoint(path: path, message: "unexpected AST shapes: v.cls_token \(cls), v.pos_embed \(pos), v.patch_embed.proj.weight \(patch)")
        }
        var blocks = Set<Int>()
        for key in tensors.keys {
            guard let k = Self.astKey(key), k.hasPrefix("v.blocks.") else { continue }
            if let i = Int(k.dropFirst("v.blocks.".count).prefix { $0 != "." }) { blocks.insert(i) }
        }
        let depth = blocks.count
        guard blocks == Set(0..<depth) else {
            throw .checkpoint(path: path, message: "transformer blocks \(blocks.sorted()) are not numbered 0..<\(depth)")
        }
        let hidden = depth > 0 ? try shape("v.blocks.0.mlp.fc1.weight")[0] : 4 * dim
        let classes = tensor(for: "mlp_head.1.weight").map { $0.info.shape[0] }
        return CheckpointArchitecture(path: path, embedDim: dim, depth: depth, mlpHidden: hidden, patchSize: patch[2],
                                      positions: pos[1] - 2, numClasses: classes)
    }

    // MARK: loading

    /// What to load and how strictly.
    public struct Policy: Sendable {
        /// Fail unless a classifier head of the model's shape is in the file.
        public var requireHead: Bool
        /// Admit a bare state dict's own `mlp_head.*` (AudioSet's 527-class head) as the head.
        public var audioSetHead: Bool
        /// Fail unless the projector (and its BatchNorm statistics) is in the file.
        public var requireProjector: Bool
        /// Adapt a positional embedding of another grid size this way; nil: shapes must match.
        public var posEmbed: PositionalEmbeddingInit?

        /// `--init`: the AST is required, head and projector are taken when present and fitting.
        public static func initialise(posEmbed: PositionalEmbeddingInit, loadHead: Bool = false) -> Policy {
            Policy(requireHead: loadHead, audioSetHead: loadHead, requireProjector: false, posEmbed: posEmbed)
        }
        /// `--resume`: everything.
        public static let restore = Policy(requireHead: true, audioSetHead: false, requireProjector: true, posEmbed: nil)
        /// `--eval`: AST and classifier.
        public static let evaluate = Policy(requireHead: true, audioSetHead: false, requireProjector: false, posEmbed: nil)
    }

    /// What a load did.
    public struct Report: Sendable, CustomStringConvertible {
        public var layout: Layout
        public var format: String
        public var tensors: Int
        /// "pos_embed grid 12x101 -> 12x79 (paper)" when the positional embedding was adapted.
        public var posEmbedNote: String?
        /// The adaptation used for the AudioSet grid, if any.
        public var posEmbed: PositionalEmbeddingInit?
        public var headLoaded: Bool
        public var projectorLoaded: Bool
        /// Objects of the file this reader does not interpret and did not use, "args
        /// (argparse.Namespace)": said, so that nothing in a checkpoint is ignored silently.
        public var skipped: [String] = []

        public var description: String {
            "\(layout.rawValue) (\(format) format): \(tensors) tensors, \(posEmbedNote ?? "pos_embed as stored"), head \(headLoaded ? "loaded" : "new"), projector \(projectorLoaded ? "loaded" : "new")"
                + (skippedSummary.map { "; \($0)" } ?? "")
        }

        /// "skipped 1 object of classes this reader does not run: ...", nil when nothing was skipped.
        public var skippedSummary: String? {
            guard !skipped.isEmpty else { return nil }
            return "skipped \(skipped.count) object\(skipped.count == 1 ? "" : "s") of classes this reader does not run: "
                + skipped.prefix(8).joined(separator: ", ") + (skipped.count > 8 ? " (+\(skipped.count - 8) more)" : "")
        }
    }

    /// Copies the file's tensors into `model`. Everything is checked before anything is written:
    /// a failed load leaves the model as it was. Errors name the file, the keys and both shapes.
    @discardableResult
    public func load(into model: ASTModel, policy: Policy) throws(TrainingError) -> Report {
        enum Source { case file(TensorInfo), values([Float]) }
        var pending: [(index: Int, source: Source)] = []
        var missing: [String] = [], mismatched: [String] = []
        var report = Report(layout: layout, format: formatName, tensors: 0,
                            posEmbedNote: nil, posEmbed: nil, headLoaded: false, projectorLoaded: false)
        let entries = model.stateEntries
        func describe(_ s: [Int]) -> String { "[" + s.map(String.init).joined(separator: ", ") + "]" }

        // The AST: every entry required.
        for (i, entry) in entries.enumerated() where entry.name.hasPrefix("v.") {
            guard let (key, info) = tensor(for: entry.name) else { missing.append(entry.name); continue }
            if info.shape == entry.shape {
                pending.append((i, .file(info)))
            } else if entry.name == "v.pos_embed", let adapted = try adaptedPositionalEmbedding(info, key: key, model: model, policy: policy, report: &report) {
                pending.append((i, .values(adapted)))
            } else {
                mismatched.append("\(entry.name) (file \(key) \(describe(info.shape)), model \(describe(entry.shape)))")
            }
        }
        // Head and projector: all of a group or none.
        func group(_ prefix: String, required: Bool, audioSetHead: Bool) -> Bool {
            let members = entries.enumerated().filter { $0.element.name.hasPrefix(prefix) }
            var found: [(Int, TensorInfo)] = [], problems: [String] = [], absent: [String] = []
            for (i, entry) in members {
                guard let (key, info) = tensor(for: entry.name, audioSetHead: audioSetHead) else {
                    // BatchNorm statistics of an older file may be absent: keep the fresh ones.
                    if entry.isParameter { absent.append(entry.name) }
                    continue
                }
                if info.shape == entry.shape { found.append((i, info)) } else {
                    problems.append("\(entry.name) (file \(key) \(describe(info.shape)), model \(describe(entry.shape)))")
                }
            }
            if absent.isEmpty && problems.isEmpty && !found.isEmpty {
                pending += found.map { ($0.0, .file($0.1)) }
                return true
            }
            if required {
                missing += absent
                mismatched += problems
                if found.isEmpty && absent.isEmpty && problems.isEmpty { missing.append(prefix + "*") }
            }
            return false
        }
        report.headLoaded = group("mlp_head.", required: policy.requireHead, audioSetHead: policy.audioSetHead)
        report.projectorLoaded = group("projector.", required: policy.requireProjector, audioSetHead: false)
        // DAT's domain head (saved in `model` as domain_head.*): restored with the rest on --resume.
        if entries.contains(where: { $0.name.hasPrefix("domain_head.") }) {
            _ = group("domain_head.", required: policy.requireProjector, audioSetHead: false)
        }

        if !missing.isEmpty || !mismatched.isEmpty {
            var s = "cannot load into the model (\(layout.rawValue)):"
            func list(_ items: [String]) -> String {
                items.prefix(8).joined(separator: " ") + (items.count > 8 ? " (+\(items.count - 8) more)" : "")
            }
            if !missing.isEmpty { s += " missing keys: " + list(missing) + ";" }
            if !mismatched.isEmpty { s += " shape mismatches: " + list(mismatched) }
            throw .checkpoint(path: path, message: s)
        }
        do {
            for (i, source) in pending {
                switch source {
                case .values(let v): try v.withUnsafeBufferPointer { p throws(TorchError) in try model.setState(i, p) }
                case .file(let info) where entries[i].isFloatingPoint:
                    try file.withFloats(info) { p in try model.setState(i, p) }
                case .file(let info):
                    try model.setState(i, int64s: try file.int64s(info))
                }
            }
        } catch let e as TorchError {
            throw .torch(e)
        } catch let e as CheckpointError {
            throw .checkpoint(path: path, message: e.message)
        } catch {
            throw .checkpoint(path: path, message: "\(error)")
        }
        report.tensors = pending.count
        report.skipped = file.uninterpretedObjects().map { "\($0.name.isEmpty ? "the file's top level" : $0.name) (\($0.className))" }
        return report
    }

    /// The AudioSet (12 x 101) or another grid cut / interpolated to the model's grid, or nil
    /// when the shapes cannot be reconciled.
    private func adaptedPositionalEmbedding(_ info: TensorInfo, key: String, model: ASTModel, policy: Policy,
                                          report: inout Report) throws(TrainingError) -> [Float]? {
        guard let requested = policy.posEmbed, info.shape.count == 3, info.shape[0] == 1,
              info.shape[2] == model.config.embedDim, info.shape[1] > 2 else { return nil }
        let n = info.shape[1] - 2
        let grid: (f: Int, t: Int)
        let audioSet = n == 12 * 101
        if audioSet { grid = (12, 101) } else if n % model.fDim == 0 { grid = (model.fDim, n / model.fDim) } else { return nil }
        // The paper's mode belongs to the AudioSet branch of models/ast.py: it adapts the grid to
        // (time patches x frequency patches) and adds the result in the model's own patch order.
        let mode: PositionalEmbeddingInit = audioSet ? requested : .aligned
        let target = mode == .paper ? (f: model.tDim, t: model.fDim) : (f: model.fDim, t: model.tDim)
        let values: [Float]
        do { values = try file.floats(info) } catch { throw .checkpoint(path: path, message: "\(key): \(error.message)") }
        let adapted: [Float]
        do {
            adapted = try values.withUnsafeBufferPointer { p throws(TorchError) in
                try adaptPositionalEmbedding(p, dim: model.config.embedDim, grid: grid, to: target)
            }
        } catch { throw .torch(error) }
        report.posEmbed = audioSet ? mode : nil
        report.posEmbedNote = "pos_embed grid \(grid.f)x\(grid.t) -> \(model.fDim)x\(model.tDim) (\(mode.rawValue)\(mode == .paper ? ": \(target.f)x\(target.t) in patch order" : ""))"
        return adapted
    }

    /// Restores Adam's state saved by this trainer (`optimizer.<entry>.exp_avg`, `.exp_avg_sq`, `.step`).
    public func loadOptimizer(into model: ASTModel) throws(TrainingError) {
        do {
            try model.clearAdamState()
            for (i, entry) in model.stateEntries.enumerated() where entry.isParameter {
                let base = "optimizer.\(entry.name)"
                guard let a = tensors[base + ".exp_avg"] else { continue }
                guard let b = tensors[base + ".exp_avg_sq"], let s = tensors[base + ".step"],
                      a.shape == entry.shape, b.shape == entry.shape, s.count == 1 else {
                    throw TrainingError.checkpoint(path: path, message: "incomplete or misshapen Adam state for \(entry.name)")
                }
                try model.setAdamState(i, expAvg: try file.floats(a), expAvgSq: try file.floats(b), step: try file.int64s(s)[0])
            }
        } catch let e as TrainingError {
            throw e
        } catch let e as TorchError {
            throw .torch(e)
        } catch let e as CheckpointError {
            throw .checkpoint(path: path, message: e.message)
        } catch {
            throw .checkpoint(path: path, message: "\(error)")
        }
    }
}

/// An AST's shape as read off a checkpoint's tensors.
public struct CheckpointArchitecture: Sendable, Equatable {
    public var path: String
    public var embedDim: Int
    public var depth: Int
    public var mlpHidden: Int
    public var patchSize: Int
    /// Patches of the stored positional embedding (without the two tokens).
    public var positions: Int
    /// Classes of the stored classifier, if any.
    public var numClasses: Int?

    /// The AudioSet AST's 12 x 101 grid (1024 frames x 128 bins at strides 10).
    public var isAudioSetGrid: Bool { positions == 12 * 101 }

    /// Strides (equal in both directions) that give the stored grid for frames x bins inputs:
    /// 10 for the AudioSet grid, as the AudioSet AST was trained.
    public func stride(frames: Int, bins: Int) -> Int? {
        if isAudioSetGrid { return 10 }
        let candidates = [10] + Array(1...max(1, patchSize))
        return candidates.first { s in
            bins >= patchSize && frames >= patchSize && ((bins - patchSize) / s + 1) * ((frames - patchSize) / s + 1) == positions
        }
    }

    /// The model to build: shapes from the file, input from the data, heads `heads` or D / 64
    /// (DeiT's convention), classes from the stored classifier or `numClasses`.
    public func modelConfig(frames: Int, bins: Int, heads: Int?, numClasses: Int) throws(TrainingError) -> ModelConfig {
        guard let s = stride(frames: frames, bins: bins) else {
            throw .checkpoint(path: path, message: "its positional embedding has \(positions) patches: no stride gives that grid for \(frames) x \(bins) inputs")
        }
        let h = heads ?? max(1, embedDim / 64)
        guard h > 0, embedDim % h == 0 else {
            throw .invalidOption("--heads \(h) does not divide the checkpoint's embedding dim \(embedDim)")
        }
        return ModelConfig(embedDim: embedDim, depth: depth, heads: h, mlpHidden: mlpHidden, patchSize: patchSize,
                           fstride: s, tstride: s, inputFrames: frames, inputBins: bins, numClasses: numClasses)
    }

    /// Fails naming both shapes when a preset's model differs from the checkpoint's.
    public func check(preset: ModelPreset, against config: ModelConfig) throws(TrainingError) {
        let p = preset.model
        func text(_ d: Int, _ depth: Int, _ hidden: Int, _ f: Int, _ t: Int) -> String {
            "D \(d), \(depth) blocks, MLP \(hidden), strides \(f)/\(t)"
        }
        guard p.embedDim == config.embedDim, p.depth == config.depth, p.mlpHidden == config.mlpHidden,
              p.fstride == config.fstride, p.tstride == config.tstride, p.patchSize == config.patchSize else {
            throw .invalidOption("--model \(preset.name) (\(text(p.embedDim, p.depth, p.mlpHidden, p.fstride, p.tstride))) disagrees with \(path) (\(text(config.embedDim, config.depth, config.mlpHidden, config.fstride, config.tstride))); leave out --model to take the checkpoint's shape")
        }
    }
}
