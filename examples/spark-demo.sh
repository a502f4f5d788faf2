#!/usr/bin/env bash
# peft4j on Apache Spark (README, "Running on a cluster"): the digits demo's base model and two LoRA adapters score the
# test set in three domains on a local Spark session, one mixed adapter column; the accuracy of each adapter in each
# domain is printed and written to OUT/spark/accuracy.md and OUT/spark/accuracy.parquet.
# Reuses the demo's outputs in OUT (base model, rotated-digits adapter) or runs ./demo.sh first; trains the second
# adapter (mirrored digits) the same way, with the agent, if OUT/spark/mirror-adapter is missing.
# Exit status: 0 done, 1 a step failed, 2 usage error.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

usage() {
  cat <<'USAGE'
usage: examples/spark-demo.sh [options]
  --out DIR       the demo's output directory, reused if it has the base model and adapter (default out)
  --master URL    Spark master (default local[2])
  --bench N       instead of the accuracy table: N paired rounds timing 1 against 2 partitions
  --rebuild       run Maven even if the build looks up to date
USAGE
}
OUT=out MASTER='local[2]' BENCH=() REBUILD=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    -h|--help) usage; exit 0 ;;
    --rebuild) REBUILD=1; shift ;;
    --out|--master|--bench)
      [[ $# -ge 2 ]] || { echo "spark-demo.sh: $1 needs a value" >&2; exit 2; }
      case "$1" in --out) OUT="$2" ;; --master) MASTER="$2" ;; --bench) BENCH=(--bench "$2") ;; esac
      shift 2 ;;
    *) echo "spark-demo.sh: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
  esac
done

JOB=examples/spark/target STAMP=examples/spark/target/spark-demo-build.stamp
if [[ $REBUILD == 1 || ! -f $STAMP || -n "$(find pom.xml {core,agent,examples,spark,examples/spark}/pom.xml \
    {core,agent,examples,spark,examples/spark}/src/main -newer $STAMP -type f -print -quit)" ]]; then
  echo "=== build: mvn -B -q -pl agent,examples,examples/spark -am package -DskipTests"
  export MAVEN_OPTS="${MAVEN_OPTS:-} -Djansi.noreset=true"
  BUILD=(-B -q -pl agent,examples,examples/spark -am package -DskipTests)
  mvn -o "${BUILD[@]}" || { echo "offline build failed; retrying with network access" >&2; mvn "${BUILD[@]}"; }
  touch "$STAMP"
else
  echo "=== build: up to date; --rebuild forces Maven"
fi
JAVA="${JAVA_HOME:+$JAVA_HOME/bin/}java" AGENT=agent/target/peft4j-agent.jar
mkdir -p "$OUT"
OUT="$(realpath "$OUT")"

if [[ ! -f $OUT/lora-adapter/adapter_config.json || ! -d $OUT/base || ! -f $OUT/adapter-config/adapter_config.json ]]; then
  echo "=== no demo outputs in $OUT: running ./demo.sh --out $OUT first (base model and rotated-digits adapter)"
  ./demo.sh --out "$OUT"
fi
APP=(-Dai.djl.offline=true -Dai.djl.pytorch.num_threads=1
     -cp "examples/target/classes:$(< examples/target/classpath.txt)" io.peft4j.examples.DigitsDemo)
if [[ ! -f $OUT/spark/mirror-adapter/adapter_config.json ]]; then
  echo "=== the second adapter: LoRA fine-tuning on mirrored digits, the demo's command with --shift mirror"
  mkdir -p "$OUT/spark"
  "$JAVA" "-javaagent:$AGENT=adapter=$OUT/adapter-config,save=$OUT/spark/mirror-adapter" "${APP[@]}" \
    finetune --base "$OUT/base" --out "$OUT/spark/mirror" --shift mirror 2>&1 \
    | grep --line-buffered -v -E '^SLF4J\(W\)|LegacyTypeDispatch|^epoch' || true
  [[ -f $OUT/spark/mirror-adapter/adapter_config.json ]] \
    || { echo "spark-demo.sh: training the mirrored-digits adapter failed" >&2; exit 1; }
fi

echo "=== Spark ($MASTER): base model, rotate90 and mirror adapters over the test set in three domains"
# Spark's own Java 17 flags (the root pom's spark.java.options), then the job on the example's class path.
read -r -a SPARK_OPTS <<< "$(tr '\n' ' ' < $JOB/classes/spark-java-options.txt)"
echo "\$ java <Spark's --add-opens flags> -Dai.djl.offline=true -Dai.djl.pytorch.num_threads=1 -cp <classpath> \\"
echo "    io.peft4j.examples.spark.DigitsSparkJob --base $OUT/base \\"
echo "    --adapters rotate90=$OUT/lora-adapter,mirror=$OUT/spark/mirror-adapter --out $OUT/spark --master $MASTER ${BENCH[*]}"
"$JAVA" "${SPARK_OPTS[@]}" -Dai.djl.offline=true -Dai.djl.pytorch.num_threads=1 \
  -cp "$JOB/classes:$(< $JOB/classpath.txt)" io.peft4j.examples.spark.DigitsSparkJob \
  --base "$OUT/base" --adapters "rotate90=$OUT/lora-adapter,mirror=$OUT/spark/mirror-adapter" \
  --out "$OUT/spark" --master "$MASTER" "${BENCH[@]}"
