#!/usr/bin/env bash
# JVM launcher of the Java-API benchmark forks (@Fork(jvm = ...)): runs java with the arguments JMH gives, with
# peft4j-core and its runtime dependencies (benchmarks/target/peft4j-core-lib/*) appended to the -cp value.
# The benchmark jar itself never contains peft4j, so the agent forks see only the agent jar and the plain forks no
# peft4j at all. The java is $BENCH_FORK_JAVA (bench.sh sets it to the one running JMH), else java on the PATH;
# $BENCH_CORE_LIB replaces the library directory (an A/B of two peft4j-core builds, BENCHMARKS.md).
set -euo pipefail
LIB="${BENCH_CORE_LIB:-$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/target/peft4j-core-lib}/*"
args=()
while [ $# -gt 0 ]; do
  if [ "$1" = "-cp" ] || [ "$1" = "-classpath" ] || [ "$1" = "--class-path" ]; then
    args+=("$1" "$2:$LIB")
    shift 2
  else
    args+=("$1")
    shift
  fi
done
exec "${BENCH_FORK_JAVA:-java}" "${args[@]}"
