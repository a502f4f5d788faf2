#!/usr/bin/env bash
# peft4j benchmarks (BENCHMARKS.md): builds the benchmarks module (Maven profile `benchmarks`, never part of
# `mvn verify`) with the agent and core it measures, then runs every benchmark and prints the results table.
#
# usage: ./bench.sh [--no-build] [--rounds N] [--threads N] [--startup-runs N] [--quick] [--only REGEX]
#                   [--skip-startup] [--out DIR]
#   --no-build      use the jars already built
#   --rounds N      JMH rounds; each runs every case in one fork, order alternating (default 5, ~18 min)
#   --threads N     PyTorch intra-op threads in every benchmark JVM (default 1)
#   --quick         1 round, short iterations: checks that everything runs (~5 min), numbers are not meaningful
#   --only REGEX    only the cases whose id matches, e.g. --only 'Linear'
# Results: benchmarks/target/bench-results/results.md and results.json; JMH logs under .../logs/.
#
# Plain JMH works too (from the repository root, after a build):
#   java -jar benchmarks/target/benchmarks.jar MlpPlain -jvmArgsPrepend -Dai.djl.pytorch.num_threads=1
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$ROOT"

BUILD=1
if [ "${1:-}" = "--no-build" ]; then
  BUILD=0
  shift
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

exec "$JAVA" -Dai.djl.offline=true -cp benchmarks/target/benchmarks.jar io.peft4j.bench.BenchRunner "$@"
