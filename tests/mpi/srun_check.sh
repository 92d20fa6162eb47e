#!/bin/bash
# srun_check.sh — a manual check (not registered with ctest) that a pipeline
# campaign runs under Slurm's srun and sbatch, as issue #5 must-have 7 asks.
# It sets up a throw-away one-node Slurm cluster on this machine (slurmctld
# and slurmd on localhost, munge for authentication, no cgroups: every file
# under a temporary folder, nothing in /etc changed), then runs
#
#   srun -n 2 --mpi=pmix batchmd run examples/pipeline/campaign.yaml
#   srun -n 3 ... (one rank too many: exit 2, every rank saying why)
#   sbatch --ntasks=2 examples/slurm/batchmd.sbatch campaign.yaml
#
# each on a copy of examples/pipeline, checks that every input structure
# was written exactly once to final or failed, and stops the daemons.
#
# Needs root (slurmd starts the tasks as the submitting user) and the Debian
# packages slurm-wlm and munge (apt-get install slurm-wlm munge) with the
# OpenMPI that batchmd was built with (its PMIx matches Slurm's mpi_pmix).
# The steps are explained in examples/slurm/README.md.
#
# usage: tests/mpi/srun_check.sh [BUILD_DIR]   (default: build)
# Exit status 0 when both runs succeed.
set -euo pipefail

SRC=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=$(cd "${1:-$SRC/build}" && pwd)
BATCHMD=$BUILD/batchmd
[ -x "$BATCHMD" ] || { echo "srun_check: no $BATCHMD (build first)"; exit 2; }
for t in slurmctld slurmd srun sbatch munged; do
    command -v $t >/dev/null || [ -x /usr/sbin/$t ] || { echo "srun_check: $t missing (apt-get install slurm-wlm munge)"; exit 2; }
done
[ "$(id -u)" = 0 ] || { echo "srun_check: run as root (slurmd must start tasks as the submitting user)"; exit 2; }

W=$(mktemp -d /tmp/batchmd-slurm.XXXXXX)
chmod 755 "$W"
CPUS=$(nproc)
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    sleep 1
    for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
    echo "srun_check: logs and outputs left in $W"
}
trap cleanup EXIT

# ---- munge: its own key, socket and pid file under $W
mkdir -p "$W/munge"
chmod 700 "$W/munge"
dd if=/dev/urandom of="$W/munge/munge.key" bs=1 count=1024 status=none
chmod 400 "$W/munge/munge.key"
MUNGE_SOCKET=$W/munge/munge.socket
/usr/sbin/munged --force --key-file="$W/munge/munge.key" --socket="$MUNGE_SOCKET" \
    --pid-file="$W/munge/munged.pid" --log-file="$W/munge/munged.log" --seed-file="$W/munge/seed" \
    ${MUNGED_ARGS:-}
sleep 1
PIDS+=("$(cat "$W/munge/munged.pid")")

# ---- slurm.conf: one node (localhost), one partition, no cgroups
mkdir -p "$W/spool/ctld" "$W/spool/d" "$W/log"
cat > "$W/slurm.conf" <<EOF
ClusterName=batchmd-check
SlurmctldHost=localhost
SlurmctldPort=16817
SlurmdPort=16818
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$MUNGE_SOCKET
StateSaveLocation=$W/spool/ctld
SlurmdSpoolDir=$W/spool/d
SlurmctldPidFile=$W/slurmctld.pid
SlurmdPidFile=$W/slurmd.pid
SlurmctldLogFile=$W/log/slurmctld.log
SlurmdLogFile=$W/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SchedulerType=sched/builtin
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=pmix
ReturnToService=2
NodeName=localhost NodeAddr=127.0.0.1 CPUs=$CPUS State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP OverSubscribe=YES
EOF
export SLURM_CONF=$W/slurm.conf

/usr/sbin/slurmctld -i -f "$SLURM_CONF"
/usr/sbin/slurmd -N localhost -f "$SLURM_CONF"
sleep 2
PIDS+=("$(cat "$W/slurmctld.pid")" "$(cat "$W/slurmd.pid")")
for _ in $(seq 30); do
    state=$(sinfo -h -n localhost -o %t 2>/dev/null || true)
    case "$state" in idle*|mix*|alloc*) break ;; esac
    sleep 1
done
sinfo
echo "srun --mpi=list:"; srun --mpi=list 2>&1 | sed 's/^/  /'

# ---- the example campaign, twice
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMP_NUM_THREADS=1
count() { # every system of the input exactly once in final + failed
    /usr/bin/python3 - "$1" <<'PY'
import sys, os, ase.io
d = sys.argv[1]
n = len(ase.io.read(os.path.join(d, "structures.extxyz"), ":"))
ids = []
for f in ("results/final.extxyz", "results/failed.extxyz"):
    p = os.path.join(d, f)
    if os.path.exists(p) and os.path.getsize(p):
        ids += [a.info["system_id"] for a in ase.io.read(p, ":")]
ok = sorted(ids) == list(range(n))
print("  %d structures in, %d written, each exactly once: %s" % (n, len(ids), ok))
sys.exit(0 if ok else 1)
PY
}
fail=0
cp -r "$SRC/examples/pipeline" "$W/srun"
echo "== srun -n 2 batchmd run campaign.yaml"
if (cd "$W/srun" && timeout 300 srun -n 2 --mpi=pmix "$BATCHMD" run campaign.yaml); then count "$W/srun" || fail=1
else echo "srun_check: srun failed"; fail=1; fi

echo "== srun -n 3 (one rank too many): every rank says so, exit 2"
set +e
(cd "$W/srun" && timeout 120 srun -n 3 --overcommit --mpi=pmix "$BATCHMD" run campaign.yaml) 2> "$W/srun3.err"
rc=$?
set -e
sed 's/^/  /' "$W/srun3.err" | head -5
if [ $rc -ne 2 ] || ! grep -q "run it with 2 ranks" "$W/srun3.err"; then echo "srun_check: expected exit 2 (got $rc)"; fail=1; fi

cp -r "$SRC/examples/pipeline" "$W/sbatch"
echo "== sbatch --ntasks=2 examples/slurm/batchmd.sbatch campaign.yaml"
job=$(cd "$W/sbatch" && BATCHMD=$BATCHMD sbatch --parsable --ntasks=2 --cpus-per-task=1 --export=ALL \
      "$SRC/examples/slurm/batchmd.sbatch" campaign.yaml)
for _ in $(seq 300); do
    squeue -h -j "$job" 2>/dev/null | grep -q . || break
    sleep 1
done
cat "$W/sbatch/batchmd-$job.out" 2>/dev/null | tail -20 || true
st=$(sacct -n -j "$job" -o State 2>/dev/null | head -1 || true)
if [ -f "$W/sbatch/results/final.extxyz" ]; then count "$W/sbatch" || fail=1
else echo "srun_check: the sbatch job wrote no results (state: ${st:-unknown})"; fail=1; fi

[ $fail = 0 ] && echo "srun_check: OK (srun and sbatch)" || echo "srun_check: FAILED"
exit $fail
