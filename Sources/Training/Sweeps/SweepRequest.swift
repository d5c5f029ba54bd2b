/// How a command line runs its runs as a sweep: `--parallel`, `--emit`, `--sweep-index` and the
/// cluster job's settings. None of them defines a run, so none is handed to the runs.
public struct SweepRequest: Sendable {
    /// Runs at once on this machine (nil: one).
    public var parallel: Int?
    /// Write a cluster job instead of running.
    public var emit: ClusterScheduler?
    /// Run only this run of the sweep (what each cluster task and local child does).
    public var index: Int?
    /// The local sweep that started this run (its child dies with it).
    public var parent: Int32?
    /// `--emit k8s`: the container image and the PersistentVolumeClaim.
    public var image: String
    public var volumeClaim: String

    public static let defaultImage = "icbhi-train:latest"
    public static let defaultVolumeClaim = "icbhi-data"

    public init(parallel: Int? = nil, emit: ClusterScheduler? = nil, index: Int? = nil, parent: Int32? = nil,
                image: String = defaultImage, volumeClaim: String = defaultVolumeClaim) {
        self.parallel = parallel
        self.emit = emit
        self.index = index
        self.parent = parent
        self.image = image
        self.volumeClaim = volumeClaim
    }

    /// A sweep lays runs out under <output>/<method>/...; a single run writes into --output itself.
    public func isSweep(_ plan: SweepPlan) -> Bool {
        plan.count > 1 || index != nil || parallel != nil || emit != nil
    }

    /// The rules on these options, for `plan`'s runs (`resume`: the command line asks to resume).
    public func validate(_ plan: SweepPlan, resume: Bool) throws(TrainingError) {
        if let parallel, parallel < 1 { throw .invalidOption("--parallel must be at least 1") }
        if isSweep(plan) && resume { throw .invalidOption("sweeps resume by themselves: rerun the same command without --resume") }
        if emit != nil && index != nil { throw .invalidOption("--emit writes a job for the whole sweep; leave out --sweep-index") }
        if parent != nil && index == nil { throw .invalidOption("--sweep-parent is for a sweep's runs (with --sweep-index)") }
    }
}
