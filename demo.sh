#!/usr/bin/env bash
# peft4j demo: LoRA fine-tuning injected into an unmodified DJL application (examples/README.md tells the story).
# This script only builds and runs the steps. The application, io.peft4j.examples.DigitsDemo, is plain DJL; the
# driver, io.peft4j.examples.demo.DemoDriver, checks the options, writes the adapter config with peft4j's builders
# (prepare), and collects, prints and checks the results in OUT/results.json (report).
# Exit status: 0 every check passed, 1 a step failed, 2 usage error, 3 a check failed.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

usage() {
  cat <<'EOF'
usage: ./demo.sh [options]
  --rank R        LoRA rank r (default 8)
  --targets LIST  comma-separated module paths to adapt (default "1,3": the first two Linear layers of DJL's
                  Mlp, whose children are 0 flatten, 1 Linear, 2 ReLU, 3 Linear, 4 ReLU, 5 Linear)
  --epochs N      fine-tuning epochs, the same for full and LoRA fine-tuning (default 20)
  --lr X          fine-tuning learning rate (default 0.002)
  --alpha A       lora_alpha (default 2 * rank)
  --out DIR       output directory (default out)
  --rebuild       run Maven even if the build looks up to date
EOF
}
OUT=out REBUILD=0 LORA=() TRAIN=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    -h|--help) usage; exit 0 ;;
    --rebuild) REBUILD=1; shift; continue ;;
    --rank|--targets|--alpha|--epochs|--lr|--out) [[ $# -ge 2 ]] || { echo "demo.sh: $1 needs a value" >&2; exit 2; } ;;
    *) echo "demo.sh: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
  esac
  case "$1" in --out) OUT="$2" ;; --epochs|--lr) TRAIN+=("$1" "$2") ;; *) LORA+=("$1" "$2") ;; esac
  shift 2
done

AGENT=agent/target/peft4j-agent.jar STAMP=examples/target/demo-build.stamp
if [[ $REBUILD == 1 || ! -f $AGENT || ! -f $STAMP || -n "$(find pom.xml {core,agent,examples}/pom.xml \
    {core,agent,examples}/src/main -newer $STAMP -type f -print -quit)" ]]; then
  echo "=== build: mvn -B -q -pl agent,examples -am package -DskipTests"
  export MAVEN_OPTS="${MAVEN_OPTS:-} -Djansi.noreset=true" # Debian's Maven 3.8 ends with colour resets, even with -B
  BUILD=(-B -q -pl agent,examples -am package -DskipTests)
  mvn -o "${BUILD[@]}" || { echo "offline build failed; retrying with network access" >&2; mvn "${BUILD[@]}"; }
  touch $STAMP
else
  echo "=== build: up to date (agent jar, examples); --rebuild forces Maven"
fi
JAVA="${JAVA_HOME:+$JAVA_HOME/bin/}java" OUT="$(realpath -m "$OUT")" NOISE='^SLF4J\(W\)|LegacyTypeDispatch'
APP_CP="examples/target/classes:$(< examples/target/classpath.txt)"
DRIVER=(-cp "examples/target/classes:$(< examples/target/demo-classpath.txt)" io.peft4j.examples.demo.DemoDriver)
# One libtorch thread: the MLP is tiny, and on a busy machine two OpenMP threads made an epoch up to 40x slower.
APP=(-Dai.djl.offline=true -Dai.djl.pytorch.num_threads=1 -cp "$APP_CP" io.peft4j.examples.DigitsDemo)

step() { # step NAME TITLE JAVA_ARGS...: one JVM; shows its output (the command with <classpath>), keeps it in logs/
  local name=$1 status; echo; echo "=== $name: $2"; shift 2
  echo "\$ java ${*/#"$APP_CP"/<classpath>}"
  set +e; "$JAVA" "$@" 2>&1 | tee "$OUT/logs/$name.log" | grep --line-buffered -v -E "$NOISE"
  status=${PIPESTATUS[0]}; set -e
  [[ $status == 0 ]] || { echo "demo.sh: step '$name' failed (status $status), see $OUT/logs/$name.log" >&2; exit 1; }
}
"$JAVA" "${DRIVER[@]}" prepare --out "$OUT" "${LORA[@]}" "${TRAIN[@]}"
mkdir -p "$OUT/logs"
step pretrain "pre-train the base classifier on the original digits (no agent)" "${APP[@]}" pretrain --out "$OUT"
step full "full fine-tuning on rotated digits: the application alone, every weight trains" \
  "${APP[@]}" finetune --base "$OUT/base" --out "$OUT/full" "${TRAIN[@]}"
step lora "LoRA fine-tuning: the SAME command, plus the peft4j agent" \
  "-javaagent:$AGENT=adapter=$OUT/adapter-config,save=$OUT/lora-adapter" \
  "${APP[@]}" finetune --base "$OUT/base" --out "$OUT/lora" "${TRAIN[@]}"
step evaluate "a fresh JVM: the untouched base model plus the saved adapter" \
  "-javaagent:$AGENT=adapter=$OUT/lora-adapter" "${APP[@]}" evaluate --base "$OUT/base" --out "$OUT/reloaded"
step chart "loss curves of both runs" -Djava.awt.headless=true "${APP[@]}" chart \
  --lora "$OUT/lora/loss.csv" --full "$OUT/full/loss.csv" --out "$OUT/loss-curves.png"
echo
"$JAVA" "${DRIVER[@]}" report --out "$OUT" --elapsed "$SECONDS"
