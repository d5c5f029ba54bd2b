import Foundation

/// `--emit`: the cluster scheduler a sweep is written out for.
public enum ClusterScheduler: String, CaseIterable, Sendable {
    /// An `sbatch` script for a Slurm job array, one array task per run.
    case slurm
    /// A Kubernetes Indexed Job manifest, one completion index per run.
    case k8s
}

/// A sweep as a cluster job: every task runs the same `train` command with
/// `--sweep-index <task index>`, so each task is exactly the run the sweep would do locally.
public struct ClusterJob: Sendable {
    /// Absolute path of the `train` executable as the cluster's nodes see it.
    public var executable: String
    /// The sweep's arguments, without `--emit`, `--parallel` or `--sweep-index`.
    public var arguments: [String]
    /// Where the command runs (relative paths in `arguments` resolve from here).
    public var workingDirectory: String
    /// The sweep's output directory (absolute or relative to `workingDirectory`).
    public var outputDirectory: String
    public var runs: Int
    /// Threads per task (`--cpus-per-task`, and `--threads` of each run).
    public var threadsPerTask: Int
    /// GPUs per task: 1 for CUDA runs, 0 on CPU.
    public var gpusPerTask: Int
    public var name: String = "icbhi-sweep"

    public init(executable: String, arguments: [String], workingDirectory: String, outputDirectory: String,
                runs: Int, threadsPerTask: Int, gpusPerTask: Int) {
        self.executable = executable
        self.arguments = arguments
        self.workingDirectory = workingDirectory
        self.outputDirectory = outputDirectory
        self.runs = runs
        self.threadsPerTask = threadsPerTask
        self.gpusPerTask = gpusPerTask
    }

    /// Where the Slurm task logs go (created by `write`).
    public var slurmLogDirectory: String { (outputDirectory as NSString).appendingPathComponent("slurm-logs") }

    /// The `sbatch` script: a job array `0-(runs-1)`, one run per task.
    public var slurmScript: String {
        var lines = [
            "#!/bin/bash",
            "# A Slurm job array written by `train --emit slurm`: task i runs sweep run i.",
            "# Submit with: sbatch \(Self.shellQuoted((outputDirectory as NSString).appendingPathComponent("sweep.sbatch")))",
            "#SBATCH --job-name=\(name)",
            "#SBATCH --array=0-\(runs - 1)",
            "#SBATCH --ntasks=1",
            "#SBATCH --cpus-per-task=\(threadsPerTask)",
            "#SBATCH --chdir=\(Self.slurmDirectiveValue(workingDirectory))",
            "#SBATCH --output=\(Self.slurmDirectiveValue(Self.slurmPattern(literal: slurmLogDirectory)))/%A_%a.out",
            "#SBATCH --error=\(Self.slurmDirectiveValue(Self.slurmPattern(literal: slurmLogDirectory)))/%A_%a.err",
        ]
        if gpusPerTask > 0 { lines.append("#SBATCH --gpus-per-task=\(gpusPerTask)") }
        let command = ([executable] + arguments + ["--threads", String(threadsPerTask)]).map(Self.shellQuoted)
        lines += ["set -euo pipefail", "exec " + command.joined(separator: " ") + " --sweep-index \"$SLURM_ARRAY_TASK_ID\""]
        return lines.joined(separator: "\n") + "\n"
    }

    /// Refuses paths a Slurm job file cannot carry (before anything is written): a `#SBATCH` line
    /// and the script's comments end at a newline, so a path holding one would put the rest of it
    /// on a line of its own, which bash runs (`--output $'x\ntouch PWNED #'`); a backslash in
    /// `--output`/`--error` turns off Slurm's `%A`/`%a` patterns, so every task would log to one file.
    public func checkSlurmPaths() throws(TrainingError) {
        for (what, path) in [("the working directory", workingDirectory), ("--output", outputDirectory)] {
            if let c = path.unicodeScalars.first(where: { $0.properties.generalCategory == .control }) {
                let name = c == "\n" ? "a newline" : "a control character (U+\(String(c.value, radix: 16, uppercase: true)))"
                throw .invalidOption("--emit slurm: \(what) \(path.debugDescription) holds \(name): a #SBATCH line cannot carry it "
                                     + "(the rest of the path would be a line of the job script of its own, which bash runs); choose a path without it")
            }
        }
        if outputDirectory.contains("\\") {
            throw .invalidOption("--emit slurm: --output \(outputDirectory.debugDescription) holds a backslash: in #SBATCH --output it turns off "
                                 + "Slurm's %A/%a file name patterns (every task would log to one file); choose a path without it")
        }
    }

    /// `text` as one argument of a `#SBATCH` line, which sbatch splits at blanks, reads quotes, a
    /// backslash (escapes the next character) and `#` (starts a comment) in: every ASCII
    /// character but letters, digits and `-_./=:,+@%` escaped with a backslash.
    static func slurmDirectiveValue(_ text: String) -> String {
        var out = ""
        for c in text.unicodeScalars {
            if c.isASCII && !(c.properties.isAlphabetic || ("0"..."9").contains(c) || "-_./=:,+@%".unicodeScalars.contains(c)) {
                out.append("\\")
            }
            out.unicodeScalars.append(c)
        }
        return out
    }

    /// A literal path inside a Slurm file name pattern (`--output`): `%` doubled.
    static func slurmPattern(literal path: String) -> String {
        path.replacingOccurrences(of: "%", with: "%%")
    }

    /// A Kubernetes `batch/v1` Indexed Job: `completions` = runs, each pod runs the sweep run
    /// whose index the Job controller gives it (the `job-completion-index` annotation). The
    /// working directory comes from a PersistentVolumeClaim mounted at the same path.
    public func kubernetesManifest(image: String, volumeClaim: String, parallelism: Int) -> String {
        let q = Self.jsonQuoted
        var resources: [String] = []
        if gpusPerTask > 0 {
            resources = ["          resources:", "            limits:", "              nvidia.com/gpu: \(gpusPerTask)"]
        }
        let args = (arguments + ["--threads", String(threadsPerTask), "--sweep-index", "$(SWEEP_INDEX)"]).map(q)
        return ([
            "# A Kubernetes Indexed Job written by `train --emit k8s`: completion index i runs sweep run i.",
            "apiVersion: batch/v1",
            "kind: Job",
            "metadata:",
            "  name: \(q(name))",
            "spec:",
            "  completionMode: Indexed",
            "  completions: \(runs)",
            "  parallelism: \(max(1, min(parallelism, runs)))",
            "  backoffLimit: \(runs)",
            "  template:",
            "    spec:",
            "      restartPolicy: Never",
            "      containers:",
            "        - name: train",
            "          image: \(q(image))",
            "          workingDir: \(q(workingDirectory))",
            "          command: [\(q(executable))]",
            "          args: [\(args.joined(separator: ", "))]",
            "          env:",
            "            - name: SWEEP_INDEX",
            "              valueFrom:",
            "                fieldRef:",
            "                  fieldPath: \(q("metadata.annotations['batch.kubernetes.io/job-completion-index']"))",
        ] + resources + [
            "          volumeMounts:",
            "            - name: data",
            "              mountPath: \(q(workingDirectory))",
            "      volumes:",
            "        - name: data",
            "          persistentVolumeClaim:",
            "            claimName: \(q(volumeClaim))",
        ]).joined(separator: "\n") + "\n"
    }

    /// `'text'` for a POSIX shell (single quotes; embedded ones as `'\''`).
    public static func shellQuoted(_ text: String) -> String {
        if !text.isEmpty && text.allSatisfy({ $0.isLetter || $0.isNumber || "-_./=:,+@%".contains($0) }) { return text }
        return "'" + text.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }

    /// A JSON string literal, which YAML reads as the same string.
    static func jsonQuoted(_ text: String) -> String {
        let data = (try? JSONSerialization.data(withJSONObject: [text], options: [.withoutEscapingSlashes])) ?? Data("[\"\"]".utf8)
        return String(String(decoding: data, as: UTF8.self).dropFirst().dropLast())
    }
}
