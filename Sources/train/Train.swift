import ArgumentParser
import Training

extension TrainingMethod: ExpressibleByArgument {}
extension ClusterScheduler: ExpressibleByArgument {}
extension NegativePair: ExpressibleByArgument {}
extension PositionalEmbeddingInit: ExpressibleByArgument {}
extension CycleMetadata: ExpressibleByArgument {}
extension ContrastiveTarget: ExpressibleByArgument {}

/// `train`: fitting (`train --shards ...`, the default subcommand) and the jobs around it. Each
/// subcommand parses its options and forwards them to the Training library, which holds the
/// defaults and the rules.
@main
struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train an Audio Spectrogram Transformer (Patch-Mix CL or a follow-up method) on feature shards of ICBHI or SPRSound.",
        discussion: """
            `train --shards cache/<feature-set> [options]` trains (the `fit` subcommand, the default: \
            `train fit --help` lists its options). It reads the feature set written by `prep features`, \
            trains on its train split and evaluates on its test split after every epoch (Sp, Se, ICBHI \
            score, 2-class view; SPRSound feature sets take --task and report SE, SP, AS, HS and Score per test split). It writes <output>/log.jsonl (one JSON object per epoch), \
            <output>/last.pth and <output>/best.pth (best: highest score with Se > 5).

            Checkpoints open in Python with torch.load(path) and follow the paper code's layout: \
            {"model": AST state dict (v.*), "classifier": LayerNorm + Linear (0.*, 1.*), "projector", \
            "optimizer", "meta": JSON}. --init, `train eval` and `train inspect` read PyTorch files \
            themselves (zip or legacy format, dict or OrderedDict, float16/32/64): the AudioSet AST, the \
            paper code's checkpoints, ours.

            Sweeps: --method, --seed and --test-fold take lists (ce,patchmix_cl; 1-5; 0-4) and run every \
            combination; `train report` tabulates them.

            The flags --eval, --inspect-checkpoint FILE and --benchmark-steps N of earlier versions \
            still work: they are `train eval`, `train inspect FILE` and `train benchmark --steps N`.
            """,
        subcommands: [Fit.self, Eval.self, Inspect.self, Benchmark.self, Report.self],
        defaultSubcommand: Fit.self)
}
