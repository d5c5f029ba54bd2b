#!/usr/bin/env bash
# A real one-node Slurm cluster on this machine (Debian's slurmctld/slurmd 22.05 + munge), for
# checking emitted sbatch scripts end to end. Everything it writes lives in <state-dir>; the
# system's /etc/munge key, /etc/slurm and the packaged services are left alone. Needs root
# (packages, SlurmUser=root). Progress goes to stderr; `start` prints only the export line.
#
#   scripts/slurm_local.sh start <state-dir>   install munge/slurm if missing, write slurm.conf,
#                                              start munged, slurmctld, slurmd, wait for the node
#                                              to be idle; prints `export SLURM_CONF=...`
#   scripts/slurm_local.sh run <state-dir> <sbatch-script> [sbatch options...]
#                                              submit, wait for every (array) task, print each
#                                              task's state and exit code; non-zero if any failed;
#                                              prints the job id on stdout
#   scripts/slurm_local.sh stop <state-dir>    cancel leftover jobs, then TERM (KILL after a
#                                              bounded wait) exactly the PIDs `start` recorded
#
#   eval "$(scripts/slurm_local.sh start /tmp/slurm)"   # sets SLURM_CONF for sinfo, squeue, ...
#
# Environment (defaults): SLURM_LOCAL_CTLD_PORT (16817), SLURM_LOCAL_SLURMD_PORT (16818),
# SLURM_LOCAL_GPUS (0: no GRES, and sbatch rejects any --gpus*/--gres=gpu request; N: the node
# has N "gpu" GRES, /dev/nvidia0..N-1 if present, else placeholders with no GPU behind them, so
# scripts asking for GPUs are scheduled and get CUDA_VISIBLE_DEVICES), SLURM_LOCAL_START_TIMEOUT
# (60 s), SLURM_LOCAL_RUN_TIMEOUT (3600 s), SLURM_LOCAL_STOP_TIMEOUT (20 s).
set -euo pipefail

CTLD_PORT=${SLURM_LOCAL_CTLD_PORT:-16817}
SLURMD_PORT=${SLURM_LOCAL_SLURMD_PORT:-16818}
GPUS=${SLURM_LOCAL_GPUS:-0}
START_TIMEOUT=${SLURM_LOCAL_START_TIMEOUT:-60}
RUN_TIMEOUT=${SLURM_LOCAL_RUN_TIMEOUT:-3600}
STOP_TIMEOUT=${SLURM_LOCAL_STOP_TIMEOUT:-20}
TERMINAL_STATES=" COMPLETED FAILED CANCELLED TIMEOUT NODE_FAIL OUT_OF_MEMORY PREEMPTED BOOT_FAIL DEADLINE "
# Pending reasons that never clear on this static one-node cluster (e.g. more CPUs than it has).
HOPELESS_REASONS=" PartitionConfig PartitionNodeLimit PartitionTimeLimit BadConstraints InvalidQOS InvalidAccount "

say() { printf 'slurm_local: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }
usage() {
    sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//' >&2
    exit 2
}

oneline() { tr '\n' ' ' <<< "$1" | sed 's/ *$//'; }

# Absolute path without requiring it to exist (realpath -m).
absolute() { realpath -m -- "$1"; }

# A recorded PID still names the daemon we started (not a recycled PID, not a zombie).
is_our_daemon() {
    local name=$1 pid=$2
    [[ -r /proc/$pid/comm ]] || return 1
    [[ "$(cat "/proc/$pid/comm" 2>/dev/null)" == "$name" ]] || return 1
    local state
    state=$(awk '{ print $3 }' "/proc/$pid/stat" 2>/dev/null) || return 1
    [[ "$state" != Z && "$state" != X ]]
}

live_recorded_pids() {
    local pids_file=$1/pids name pid
    [[ -f "$pids_file" ]] || return 0
    while read -r name pid; do
        [[ -n "${pid:-}" ]] && is_our_daemon "$name" "$pid" && printf '%s %s\n' "$name" "$pid"
    done < "$pids_file"
    return 0
}

tail_logs() {
    local state=$1 f
    # The daemons run in the foreground: their stderr (*.out) holds all they log, and also what
    # went wrong before their log files were open.
    for f in "$state"/log/*.out; do
        [[ -s "$f" ]] || continue
        printf '\n--- last lines of %s\n' "$f" >&2
        tail -n 15 "$f" >&2
    done
}

install_packages() {
    local cmd missing=0
    for cmd in munged mungekey munge slurmctld slurmd sbatch sinfo squeue scontrol scancel; do
        command -v "$cmd" > /dev/null || missing=1
    done
    (( missing )) || return 0
    # The minimal set: slurm-wlm would add slurmdbd/sview; munge's own key in /etc/munge is unused.
    local pkgs=(munge slurmctld slurmd slurm-client)
    say "installing ${pkgs[*]} (apt-get)"
    export DEBIAN_FRONTEND=noninteractive
    if ! apt-get install -y --no-install-recommends "${pkgs[@]}" > /dev/null; then
        say "install failed; running apt-get update and retrying"
        apt-get update > /dev/null
        apt-get install -y --no-install-recommends "${pkgs[@]}" > /dev/null
    fi
}

write_config() {
    local state=$1 host=$2 cpus memory i
    cpus=$(nproc)
    memory=$(free -m | awk '/^Mem:/ { print $2 }')
    [[ "$memory" =~ ^[0-9]+$ ]] || die "cannot read total memory from \`free -m\`"
    local gres_line="" node_gres=""
    rm -rf "$state/gres.conf" "$state/gpu"
    if (( GPUS > 0 )); then
        # Slurm 22.05 drops file-less GPUs, so each GPU needs a device file. Real ones where the
        # machine has them (tasks then get CUDA_VISIBLE_DEVICES naming real devices); otherwise
        # placeholders (links to /dev/null): the scheduler accepts and allocates --gpus* requests
        # and sets CUDA_VISIBLE_DEVICES, but there is no GPU behind it.
        local files
        if [[ -c /dev/nvidia$((GPUS - 1)) ]]; then
            files=/dev/nvidia
        else
            mkdir -p "$state/gpu"
            for ((i = 0; i < GPUS; i++)); do ln -s /dev/null "$state/gpu/nvidia$i"; done
            files=$state/gpu/nvidia
            say "no /dev/nvidia$((GPUS - 1)): declaring $GPUS placeholder GPU(s) (no device behind them)"
        fi
        if (( GPUS == 1 )); then files+=0; else files+="[0-$((GPUS - 1))]"; fi
        gres_line="GresTypes=gpu"
        node_gres=" Gres=gpu:$GPUS"
        printf 'NodeName=%s Name=gpu File=%s\n' "$host" "$files" > "$state/gres.conf"
    fi
    : > "$state/plugstack.conf" # keeps /etc/slurm/plugstack.conf.d's SPANK plugins out
    cat > "$state/slurm.conf.tmp" <<CONF
# Written by scripts/slurm_local.sh: a one-node cluster whose state lives in this directory.
ClusterName=local
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$CTLD_PORT
SlurmdPort=$SLURMD_PORT
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$state/munge-socket/munge.socket
StateSaveLocation=$state/ctld
SlurmdSpoolDir=$state/spool
SlurmctldPidFile=$state/run/slurmctld.pid
SlurmdPidFile=$state/run/slurmd.pid
SlurmctldLogFile=$state/log/slurmctld.log
SlurmdLogFile=$state/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
PlugStackConfig=$state/plugstack.conf
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=none
ReturnToService=2
SlurmdParameters=config_overrides
SchedulerType=sched/backfill
# Schedule batch jobs (array tasks included) as soon as submitted or freed, not up to 3 s later.
SchedulerParameters=batch_sched_delay=0
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
MailProg=/bin/true
# Keep finished jobs visible to scontrol for an hour: without slurmdbd there is no sacct, and
# \`run\` reads each array task's exit code from scontrol.
MinJobAge=3600
$gres_line
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$memory$node_gres State=UNKNOWN
PartitionName=local Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
    mv "$state/slurm.conf.tmp" "$state/slurm.conf"
}

# Starts one daemon in the foreground mode in its own session, records its PID.
launch() {
    local state=$1 name=$2
    shift 2
    setsid "$@" < /dev/null > "$state/log/$name.out" 2>&1 &
    local pid=$! deadline=$((SECONDS + 10))
    printf '%s %s\n' "$name" "$pid" >> "$state/pids"
    # Until the forked shell has exec'd, the PID's name is not yet the daemon's.
    until is_our_daemon "$name" "$pid"; do
        if [[ ! -e /proc/$pid ]] || [[ "$(awk '{ print $3 }' "/proc/$pid/stat" 2>/dev/null)" == Z ]] ||
           (( SECONDS >= deadline )); then
            tail_logs "$state"; stop_cluster "$state" quiet
            die "$name did not start (pid $pid); logs above"
        fi
        sleep 0.05
    done
}

wait_for() { # <seconds> <description> <state> <command...>: polls every 0.2 s
    local seconds=$1 what=$2 state=$3
    shift 3
    local deadline=$((SECONDS + seconds)) name pid
    until "$@"; do
        while read -r name pid; do
            is_our_daemon "$name" "$pid" || { tail_logs "$state"; stop_cluster "$state" quiet
                die "$name (pid $pid) exited while waiting for $what; its log is above"; }
        done < "$state/pids"
        if (( SECONDS >= deadline )); then
            tail_logs "$state"; stop_cluster "$state" quiet
            die "timed out after ${seconds}s waiting for $what; daemon logs are above"
        fi
        sleep 0.2
    done
}

munge_answers() { munge -n -S "$1" 2>/dev/null | unmunge -S "$1" > /dev/null 2>&1; }

# 0: idle; 1: not yet; exits (after stopping) when slurmctld has drained or rejected the node.
node_is_idle() {
    local state=$1 host=$2 node_state
    node_state=$(sinfo -h -n "$host" -o %T 2>/dev/null) || return 1
    case "$node_state" in
        idle) return 0 ;;
        *drain* | *inval* | *fail*)
            local reason
            reason=$(sinfo -h -n "$host" -o %E 2>/dev/null)
            tail_logs "$state"; stop_cluster "$state" quiet
            die "slurmctld set node $host to $node_state: ${reason:-no reason given}; logs above" ;;
    esac
    return 1
}

start_cluster() {
    local state
    state=$(absolute "$1")
    [[ "$state" != *[[:space:]]* ]] || die "the state directory's path must not contain spaces (slurm.conf cannot quote them): '$state'"
    (( EUID == 0 )) || die "must run as root (packages, SlurmUser=root); this is uid $EUID"
    [[ "$GPUS" =~ ^[0-9]+$ ]] || die "SLURM_LOCAL_GPUS must be a count, got '$GPUS'"
    local running
    running=$(live_recorded_pids "$state")
    [[ -z "$running" ]] || die "already running from $state ($(oneline "$running")); \`$0 stop $state\` first"
    local other="" name pid
    for name in slurmctld slurmd; do
        for pid in $(pgrep -x "$name" || true); do
            is_our_daemon "$name" "$pid" && other+="$name $pid "
        done
    done
    [[ -z "$other" ]] || die "another slurmctld/slurmd is running on this machine ($other); refusing to start a second cluster (ports, node name). Stop it first"
    local port
    for port in "$CTLD_PORT" "$SLURMD_PORT"; do
        if (exec 3<> "/dev/tcp/127.0.0.1/$port") 2> /dev/null; then
            die "port $port is already in use on this machine; choose others with SLURM_LOCAL_CTLD_PORT / SLURM_LOCAL_SLURMD_PORT"
        fi
    done
    install_packages

    local host
    host=$(hostname -s)
    mkdir -p "$state"
    # munged insists that every directory above its socket is searchable by all and that its
    # key directory is private; the state directory is ours, so set both.
    chmod 755 "$state"
    mkdir -p "$state/ctld" "$state/spool" "$state/log" "$state/run"
    install -d -m 700 "$state/munge"
    install -d -m 755 "$state/munge-socket"
    [[ -s "$state/munge/munge.key" ]] || mungekey --create --keyfile="$state/munge/munge.key"
    write_config "$state" "$host"
    export SLURM_CONF=$state/slurm.conf
    : > "$state/pids"
    rm -f "$state"/run/*.pid "$state/munge-socket/munge.socket"
    local f
    for f in "$state"/log/*.out; do [[ -f "$f" ]] && mv "$f" "$f.prev"; done

    local began=$SECONDS socket=$state/munge-socket/munge.socket
    say "starting munged, slurmctld, slurmd (state in $state, ports $CTLD_PORT/$SLURMD_PORT)"
    launch "$state" munged munged --foreground --force --key-file="$state/munge/munge.key" \
        --socket="$socket" --pid-file="$state/munge/munged.pid" --seed-file="$state/munge/munged.seed"
    wait_for 15 "munged's socket" "$state" munge_answers "$socket"
    launch "$state" slurmctld slurmctld -D -f "$SLURM_CONF"
    launch "$state" slurmd slurmd -D -f "$SLURM_CONF" -N "$host"
    wait_for "$START_TIMEOUT" "node $host to be idle in sinfo" "$state" node_is_idle "$state" "$host"
    say "up in $((SECONDS - began)) s: $(sinfo -h -o '%P %D %T %c CPUs %m MB %G' | head -1) (pids: $(awk '{ printf "%s=%s ", $1, $2 }' "$state/pids"))"
    printf 'export SLURM_CONF=%q\n' "$SLURM_CONF"
}

stop_cluster() {
    local state quiet=${2:-} name pid deadline
    state=$(absolute "$1")
    if [[ ! -f "$state/pids" ]]; then
        [[ -n "$quiet" ]] || say "nothing recorded in $state/pids; not running"
        return 0
    fi
    local running
    running=$(live_recorded_pids "$state")
    if [[ -n "$running" ]]; then
        # Jobs still running would leave slurmstepd and their processes behind the daemons.
        if grep -q '^slurmctld ' <<< "$running" && [[ -f "$state/slurm.conf" ]]; then
            local jobs
            jobs=$(SLURM_CONF=$state/slurm.conf squeue -h -o %A 2>/dev/null | sort -u | tr '\n' ' ' || true)
            if [[ -n "${jobs// /}" ]]; then
                say "cancelling leftover jobs: $jobs"
                # shellcheck disable=SC2086
                SLURM_CONF=$state/slurm.conf scancel $jobs 2>/dev/null || true
                deadline=$((SECONDS + STOP_TIMEOUT))
                while (( SECONDS < deadline )) &&
                      [[ -n "$(SLURM_CONF=$state/slurm.conf squeue -h -o %A 2>/dev/null)" ]]; do
                    sleep 0.5
                done
            fi
        fi
        # Reverse start order: slurmd, slurmctld, then munged that both authenticate with.
        for name in slurmd slurmctld munged; do
            pid=$(awk -v n="$name" '$1 == n { print $2 }' <<< "$running")
            if [[ -n "$pid" ]]; then kill -TERM "$pid" 2>/dev/null || true; fi
        done
        deadline=$((SECONDS + STOP_TIMEOUT))
        while [[ -n "$(live_recorded_pids "$state")" ]] && (( SECONDS < deadline )); do
            sleep 0.2
        done
        local stubborn
        stubborn=$(live_recorded_pids "$state")
        if [[ -n "$stubborn" ]]; then
            say "still alive after ${STOP_TIMEOUT}s, sending KILL: $(oneline "$stubborn")"
            awk '{ print $2 }' <<< "$stubborn" | xargs -r kill -KILL 2>/dev/null || true
            sleep 0.5
        fi
        [[ -n "$quiet" ]] || say "stopped $(oneline "$running")"
    else
        [[ -n "$quiet" ]] || say "recorded daemons already gone"
    fi
    [[ -z "$(live_recorded_pids "$state")" ]] || die "could not stop $(live_recorded_pids "$state")"
    # Exited daemons stay zombies until PID 1 (their parent since `start` returned) reaps them;
    # wait a little so that a pgrep right after `stop` finds nothing.
    local recorded unreaped
    deadline=$((SECONDS + 10))
    recorded=$(awk '{ print $2 }' "$state/pids")
    while :; do
        unreaped=""
        for pid in $recorded; do
            [[ "$(awk '{ print $3 }' "/proc/$pid/stat" 2>/dev/null)" == Z ]] && unreaped+="$pid "
        done
        if [[ -z "$unreaped" ]] || (( SECONDS >= deadline )); then break; fi
        sleep 0.2
    done
    [[ -z "$unreaped" ]] || say "note: exited but not yet reaped by PID 1 (zombies): $unreaped"
    rm -f "$state/pids"
}

# Expands scontrol's ArrayTaskId value ("0-2", "1,3-5", "0-10:2", "3%2") to one index a line.
expand_indices() {
    local spec=${1%%%*} part lo hi step
    IFS=, read -ra parts <<< "$spec"
    for part in "${parts[@]}"; do
        step=1
        [[ "$part" == *:* ]] && { step=${part#*:}; part=${part%%:*}; }
        lo=${part%%-*}; hi=${part#*-}
        seq "$lo" "$step" "$hi"
    done
}

# One line per job record: <array index or -> <state> <exit code> <reason> <stdout> <stderr>
job_records() {
    scontrol -o show job "$1" 2>/dev/null | awk '{
        idx = "-"; st = "?"; ec = "?"; why = "-"; out = "-"; err = "-"
        for (i = 1; i <= NF; i++) {
            split($i, kv, "="); key = kv[1]; val = substr($i, length(key) + 2)
            if (key == "ArrayTaskId") idx = val
            else if (key == "JobState") st = val
            else if (key == "ExitCode") ec = val
            else if (key == "Reason") why = val
            else if (key == "StdOut") out = val
            else if (key == "StdErr") err = val
        }
        print idx, st, ec, why, out, err
    }'
}

run_job() {
    local state script
    state=$(absolute "$1")
    script=$2
    shift 2
    [[ -f "$script" ]] || die "sbatch script not found: $script"
    [[ -n "$(live_recorded_pids "$state")" ]] || die "no cluster running from $state; \`$0 start $state\` first"
    export SLURM_CONF=$state/slurm.conf
    local submitted job
    submitted=$(sbatch --parsable "$@" "$script") || die "sbatch rejected $script (message above)"
    job=${submitted%%;*}
    say "submitted $script as job $job"
    printf '%s\n' "$job" # the only stdout: callers find the tasks' files by it
    local began=$SECONDS deadline=$((SECONDS + RUN_TIMEOUT)) expected="" records
    records=$(job_records "$job")
    [[ -n "$records" ]] || die "job $job vanished right after submission"
    while :; do
        # Pending array tasks share one record with a range ("1-2"); started ones get their own.
        local idx
        while read -r idx; do
            expected+=$'\n'"$(expand_indices "$idx")"
        done < <(awk '$1 != "-" { print $1 }' <<< "$records")
        expected=$(sort -nu <<< "$expected" | sed '/^$/d')
        local unfinished
        unfinished=$(awk -v t="$TERMINAL_STATES" 'index(t, " " $2 " ") == 0' <<< "$records")
        [[ -z "$unfinished" ]] && break
        local hopeless
        hopeless=$(awk -v r="$HOPELESS_REASONS" '$2 == "PENDING" && index(r, " " $4 " ")' <<< "$unfinished")
        if [[ -n "$hopeless" ]]; then
            scancel "$job" 2>/dev/null || true
            die "job $job can never run on this cluster (cancelled): $(awk '{ printf "task %s pending for %s; ", $1, $4 }' <<< "$hopeless")$(sinfo -h -o 'the node has %c CPUs, %m MB, GRES %G')"
        fi
        if (( SECONDS >= deadline )); then
            scancel "$job" 2>/dev/null || true
            die "job $job not finished after ${RUN_TIMEOUT}s (cancelled); unfinished: $(awk '{ printf "%s:%s ", $1, $2 }' <<< "$unfinished")"
        fi
        sleep 0.5
        records=$(job_records "$job")
        [[ -n "$records" ]] || die "job $job is no longer known to slurmctld (purged?)"
    done
    local failed=() idx st ec out err
    printf '%-8s %-12s %-9s %s\n' task state exit stdout >&2
    while read -r idx st ec _ out err; do
        printf '%-8s %-12s %-9s %s\n' "$idx" "$st" "$ec" "$out" >&2
        # Slurm does not create --output/--error directories; the task then fails with no trace.
        [[ "$st" == COMPLETED || -e "$out" ]] ||
            say "task $idx: no output file $out (does its directory exist? Slurm does not create it)"
        if [[ "$st" != COMPLETED || "$ec" != 0:0 ]]; then
            failed+=("$idx")
            local f
            for f in "$out" $([[ "$err" != "$out" ]] && echo "$err"); do
                [[ -f "$f" ]] && { printf -- '--- last lines of %s (task %s)\n' "$f" "$idx" >&2; tail -n 15 "$f" >&2; }
            done
        fi
    done < <(sort -n <<< "$records")
    # Every submitted index must have ended in its own record (none lost or still folded).
    if [[ -n "$expected" ]]; then
        local seen missing
        seen=$(awk '$1 != "-" { print $1 }' <<< "$records" |
               while read -r idx; do expand_indices "$idx"; done | sort -nu)
        missing=$(comm -23 <(echo "$expected" | sort) <(echo "$seen" | sort) | tr '\n' ' ')
        [[ -z "${missing// /}" ]] || { failed+=("missing:$missing"); say "no final record for tasks: $missing"; }
    fi
    if (( ${#failed[@]} )); then
        say "job $job: FAILED tasks: ${failed[*]} (after $((SECONDS - began)) s)"
        return 1
    fi
    say "job $job: all $(wc -l <<< "$records") task(s) completed with exit 0 in $((SECONDS - began)) s"
}

[[ $# -ge 2 ]] || usage
command=$1
case "$command" in
    start) [[ $# -eq 2 ]] || usage; start_cluster "$2" ;;
    stop) [[ $# -eq 2 ]] || usage; stop_cluster "$2" ;;
    run) [[ $# -ge 3 ]] || usage; run_job "${@:2}" ;;
    *) usage ;;
esac
