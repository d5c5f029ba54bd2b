/// `sgscl`: stethoscope-guided supervised contrastive learning (Kim et al., ICASSP 2024; repository
/// kaen2891/stethoscope-guided_supervised_contrastive_learning, `scripts/icbhi_sg_scl.sh`).
/// Each step augments the whole batch twice (SpecAugment `icbhi_ast_sup`, one mask set per batch,
/// the second view on top of the first, as that code's in-place transform does), encodes both
/// views, and adds alpha times a supervised contrastive loss whose positives are cycles of the same
/// `--meta` group (default: the stethoscope) to the cross-entropy of the first view. `--target-type`
/// picks what each view contributes (default project1_project2block: both projected, the second
/// detached). The repository's defaults: alpha 1, temperature 0.06, projector width 768 (= D of
/// ast-base), batch 8, lr 5e-5, 50 epochs, ma_beta 0.5 (ast-base's recipe).
struct StethoscopeGuidedMethod: TrainingMethodDefinition {
    let name = "sgscl"
    let summary = "stethoscope-guided supervised contrastive learning (SG-SCL)"
    let augmentsEachCycle = false

    func groups(_ options: TrainingOptions) -> CycleMetadata? { options.meta ?? .dev }

    func validate(_ options: TrainingOptions) throws(TrainingError) {
        let target = options.targetType ?? .project1_project2block
        guard !target.comparesFeatures || options.model.projDim == options.model.embedDim else {
            throw .invalidOption("--target-type \(target.rawValue) compares projections with the D-wide features: --proj-dim \(options.model.projDim) must equal the model width \(options.model.embedDim)")
        }
    }

    func draws(x: [Float], batch: Int, model: ASTModel, options: TrainingOptions, at position: StepPosition) -> StepDraws {
        StepDraws(views: BatchSpecAugment.views(of: x, batch: batch, count: 2, options: options, at: position,
                                                frames: model.config.inputFrames, bins: model.config.inputBins))
    }

    func loss(in graph: StepGraph, _ input: StepInput, _ objective: StepObjective) throws(TorchError) -> MethodLoss {
        let views = input.draws.views ?? [input.x, input.x]
        guard views.count == 2 else { throw .argument("sgscl needs two views of the batch, got \(views.count)") }
        let labels = try graph.labels(input.labels)
        let f1 = try graph.encode(graph.input(views[0], batch: input.count))
        let ce = try graph.crossEntropy(graph.classify(f1), labels, weight: graph.classWeights(objective))
        let f2 = try graph.encode(graph.input(views[1], batch: input.count))
        let target = objective.targetType
        // The first side is built before the second: the projector's BatchNorm statistics see them in that order.
        func side(_ f: StepGraph.Tensor, _ projected: Bool, _ detached: Bool) throws(TorchError) -> StepGraph.Tensor {
            let t = try projected ? graph.project(f) : f
            return try detached ? graph.detach(t) : t
        }
        let z1 = try side(f1, target.projects.0, target.detaches.0)
        let z2 = try side(f2, target.projects.1, target.detaches.1)
        let groups = try input.groups.map { g throws(TorchError) in try graph.int64s(g) }
        let con = try graph.supervisedContrastive(z1, z2, groups: groups, temperature: objective.temperature)
        return MethodLoss(total: try graph.weightedSum(ce, 1, con, Double(objective.alpha)), ce: ce, second: con)
    }

    func published(_ result: RunResult) -> PaperFigures? {
        // Published with the stethoscope as the group and the default target.
        guard result.isConfiguredAsPublished, (result.options.meta ?? .dev) == .dev,
              (result.options.targetType ?? .project1_project2block) == .project1_project2block else { return nil }
        return PaperFigures(name: "SG-SCL", specificity: 79.87, sensitivity: 43.55, score: 61.71)
    }
}

extension TrainingMethod {
    public static let sgscl = TrainingMethod(registered: "sgscl")
}

/// `--target-type` of SG-SCL (the repository's `--target_type`): what each view contributes to the
/// contrastive loss, its features (r/z) or their projection, and which side is detached ("block").
public enum ContrastiveTarget: String, Codable, Sendable, CaseIterable {
    case project1_project2block, project_flow_all, project1block_project2, project_block_all
    case representation_all, z1block_project, z1_project2, project1_r2block, project1_r2

    /// Whether the first and second side are projected (else the features themselves).
    var projects: (Bool, Bool) {
        switch self {
        case .project1_project2block, .project_flow_all, .project1block_project2, .project_block_all: (true, true)
        case .representation_all: (false, false)
        case .z1block_project, .z1_project2: (false, true)
        case .project1_r2block, .project1_r2: (true, false)
        }
    }

    /// Whether the first and second side are cut from the graph.
    var detaches: (Bool, Bool) {
        switch self {
        case .project1_project2block, .project1_r2block: (false, true)
        case .project1block_project2, .z1block_project: (true, false)
        case .project_block_all: (true, true)
        case .project_flow_all, .representation_all, .z1_project2, .project1_r2: (false, false)
        }
    }

    /// A side that is not projected is compared with a projected one: widths must agree.
    var comparesFeatures: Bool { projects.0 != projects.1 }
}
