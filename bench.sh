#!/usr/bin/env bash
# peft4j benchmarks (BENCHMARKS.md): builds the benchmarks module (Maven profile `benchmarks`, never part of
# `mvn verify`) with the agent and core it measures, then runs every benchmark and prints the results table.
#
# usage: ./bench.sh [--no-build] [--python] [--rounds N] [--threads N[,N]] [--startup-runs N] [--quick]
#                   [--only REGEX] [--skip-startup] [--out DIR] [--budget MIN] [--python-exe PATH]
#                   [--mkl-intel-paths]
#   --no-build      use the jars already built
#   --python        the side-by-side run instead: each JVM workload next to the Python reference
#                   (benchmarks/python/peft_reference.py, Debian's python3-torch, installed with apt-get when
#                   missing), threads 1 and 2 (--threads 1,2), ~14 min; --quick ~2 min
#   --rounds N      rounds; each runs every case in one fork/process, order alternating (default 5, ~18 min)
#   --threads N     PyTorch intra-op threads in every benchmark JVM (default 1; --python: a list, default 1,2)
#   --quick         1 round, short iterations: checks that everything runs (~5 min), numbers are not meaningful
#   --only REGEX    only the cases whose id matches, e.g. --only 'Linear'
#   --mkl-intel-paths  JVM side with oneMKL's Intel code paths on a non-Intel CPU: writes the agent's library
#                   (java -jar peft4j-agent.jar mkl-library, what the agent option mklCodePaths=features loads) and
#                   preloads it (LD_PRELOAD) into every benchmark JVM; the Python processes run without it
#                   (BENCHMARKS.md, "oneMKL on AMD CPUs")
# Results: benchmarks/target/bench-results/results.md and results.json; JMH logs under .../logs/.
#
# Plain JMH works too (from the repository root, after a build):
#   java -jar benchmarks/target/benchmarks.jar MlpPlain -jvmArgsPrepend -Dai.djl.pytorch.num_threads=1
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$ROOT"

BUILD=1
PYTHON=0
MKL_INTEL_PATHS=0
PYTHON_EXE=/usr/bin/python3
args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --no-build) BUILD=0 ;;
    --python) PYTHON=1; args+=("$1") ;;
    --python-exe) PYTHON_EXE="$2"; args+=("$1" "$2"); shift ;;
    --mkl-intel-paths) MKL_INTEL_PATHS=1 ;;
    *) args+=("$1") ;;
  esac
  shift
done

# The side-by-side run needs torch for Debian's python3 (not a pyenv/virtualenv interpreter first on the PATH) and
# an optimised BLAS: without libopenblas, Debian's torch falls back to the reference BLAS, ~10x slower GEMMs.
ensure_python_torch() {
  local missing=()
  "$PYTHON_EXE" -s -E -c 'import torch' 2>/dev/null || missing+=(python3-torch)
  if ! ls /usr/lib/*/openblas*/libblas.so.3 >/dev/null 2>&1; then
    missing+=(libopenblas0-openmp)
  fi
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$PYTHON_EXE" != /usr/bin/python3 ]; then
    echo "$PYTHON_EXE cannot import torch (or no OpenBLAS): install torch for it yourself, or drop --python-exe" >&2
    exit 1
  fi
  local sudo=()
  if [ "$(id -u)" != 0 ]; then
    if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
      sudo=(sudo -n)
    else
      echo "the Python reference needs Debian packages ${missing[*]}, and installing them needs root:" >&2
      echo "  sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
      exit 1
    fi
  fi
  echo "installing ${missing[*]} for the Python reference (apt-get) ..."
  if ! "${sudo[@]}" apt-get update -q || ! "${sudo[@]}" apt-get install -y -q -o DPkg::Lock::Timeout=600 \
      "${missing[@]}"; then
    echo "apt-get could not install ${missing[*]} (no Debian/apt, no network to the Debian mirror?);" \
      "install them, then rerun ./bench.sh --python" >&2
    exit 1
  fi
  "$PYTHON_EXE" -s -E -c 'import torch' || { echo "$PYTHON_EXE still cannot import torch" >&2; exit 1; }
}
if [ "$PYTHON" = 1 ]; then
  ensure_python_torch
  # Threads are pinned per process by the runner: -Dai.djl.pytorch.num_threads on the JVM side (OMP_WAIT_POLICY
  # left at its default there), torch.set_num_threads + OMP_NUM_THREADS + OMP_WAIT_POLICY=PASSIVE for Python.
  unset OMP_NUM_THREADS OMP_WAIT_POLICY MKL_NUM_THREADS
fi

JAVA="${JAVA_HOME:+$JAVA_HOME/bin/}java"
JAVA="$(command -v "$JAVA")"
export BENCH_FORK_JAVA="$JAVA"   # java of the Java-API forks (benchmarks/java-with-peft4j-core.sh); not PEFT4J_*: the agent rejects unknown PEFT4J_ variables

if [ "$BUILD" = 1 ]; then
  echo "building benchmarks (mvn -P benchmarks -pl benchmarks -am package -DskipTests) ..."
  if ! mvn -o -q -B -P benchmarks -pl benchmarks -am package -DskipTests; then
    echo "offline build failed; retrying online ..."
    mvn -q -B -P benchmarks -pl benchmarks -am package -DskipTests
  fi
fi
for f in benchmarks/target/benchmarks.jar agent/target/peft4j-agent.jar; do
  [ -f "$f" ] || { echo "missing $f: run without --no-build" >&2; exit 1; }
done

if [ "$MKL_INTEL_PATHS" = 1 ]; then
  # Every benchmark JVM inherits LD_PRELOAD; the runner clears it for the Python processes (OpenBLAS, no oneMKL).
  mkdir -p benchmarks/target/mkl
  "$JAVA" -jar agent/target/peft4j-agent.jar mkl-library benchmarks/target/mkl/libpeft4j-mkl-intel-paths.so
  export LD_PRELOAD="$ROOT/benchmarks/target/mkl/libpeft4j-mkl-intel-paths.so${LD_PRELOAD:+:$LD_PRELOAD}"
  echo "JVM side: oneMKL's Intel code paths (LD_PRELOAD=$LD_PRELOAD)"
fi

exec "$JAVA" -Dai.djl.offline=true -cp benchmarks/target/benchmarks.jar io.peft4j.bench.BenchRunner ${args[@]+"${args[@]}"}
