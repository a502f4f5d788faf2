#!/usr/bin/env bash
# peft4j demo: LoRA fine-tuning injected into an unmodified DJL application.
#
# The application (examples/, io.peft4j.examples.DigitsDemo) is plain DJL: it pre-trains an MLP on handwritten
# digits, then fine-tunes it on rotated digits with DJL's own Trainer. Run as is, that is full fine-tuning; run with
# -javaagent:peft4j-agent.jar=adapter=DIR,save=OUT the very same command trains a LoRA adapter instead and saves it
# in Hugging Face PEFT's format. A fresh JVM then loads the saved adapter onto the untouched base model.
#
# usage: ./demo.sh [--rank R] [--targets "1,3"] [--epochs N] [--lr X] [--alpha A] [--out DIR] [--rebuild]
#
# Exit status: 0 when every step ran and every check passed, 1 when a step failed, 2 on a usage error,
# 3 when all steps ran but a check (LoRA gain, trainable share, reload) failed.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$ROOT"

RANK=8
TARGETS="1,3"
EPOCHS=20
LR=""
ALPHA=""
OUT="out"
REBUILD=0

usage() {
  cat <<'EOF'
usage: ./demo.sh [options]
  --rank R        LoRA rank r (default 8)
  --targets LIST  comma-separated module paths to adapt (default "1,3": the first two Linear layers of DJL's
                  Mlp, whose children are 0 flatten, 1 Linear, 2 ReLU, 3 Linear, 4 ReLU, 5 Linear)
  --epochs N      fine-tuning epochs, the same for full and LoRA fine-tuning (default 20)
  --lr X          fine-tuning learning rate (default: the application's, 0.002)
  --alpha A       lora_alpha (default 2 * rank)
  --out DIR       output directory (default out)
  --rebuild       run Maven even if the build looks up to date
EOF
}

die_usage() {
  echo "demo.sh: $*" >&2
  usage >&2
  exit 2
}

while [[ $# -gt 0 ]]; do
  case "$1" in
    --rank) [[ $# -ge 2 ]] || die_usage "--rank needs a value"; RANK="$2"; shift 2 ;;
    --targets) [[ $# -ge 2 ]] || die_usage "--targets needs a value"; TARGETS="$2"; shift 2 ;;
    --epochs) [[ $# -ge 2 ]] || die_usage "--epochs needs a value"; EPOCHS="$2"; shift 2 ;;
    --lr) [[ $# -ge 2 ]] || die_usage "--lr needs a value"; LR="$2"; shift 2 ;;
    --alpha) [[ $# -ge 2 ]] || die_usage "--alpha needs a value"; ALPHA="$2"; shift 2 ;;
    --out) [[ $# -ge 2 ]] || die_usage "--out needs a value"; OUT="$2"; shift 2 ;;
    --rebuild) REBUILD=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) die_usage "unknown argument '$1'" ;;
  esac
done

[[ "$RANK" =~ ^[1-9][0-9]*$ ]] || die_usage "--rank must be a positive integer, got '$RANK'"
[[ "$EPOCHS" =~ ^[1-9][0-9]*$ ]] || die_usage "--epochs must be a positive integer, got '$EPOCHS'"
[[ -z "$LR" || "$LR" =~ ^[0-9]*\.?[0-9]+([eE]-?[0-9]+)?$ ]] || die_usage "--lr must be a number, got '$LR'"
ALPHA="${ALPHA:-$((2 * RANK))}"
[[ "$ALPHA" =~ ^[0-9]*\.?[0-9]+$ ]] || die_usage "--alpha must be a number, got '$ALPHA'"
TARGETS="${TARGETS// /}"
[[ "$TARGETS" =~ ^[A-Za-z0-9_.]+(,[A-Za-z0-9_.]+)*$ ]] \
  || die_usage "--targets must be comma-separated module paths such as \"1,3\", got '$TARGETS'"
# The agent's options are comma-separated key=value pairs: the output path must not contain ',' or '='.
[[ "$OUT" != *,* && "$OUT" != *=* ]] || die_usage "--out must not contain ',' or '=': '$OUT'"

AGENT_JAR="$ROOT/agent/target/peft4j-agent.jar"
CLASSES="$ROOT/examples/target/classes"
CP_FILE="$ROOT/examples/target/classpath.txt"
MAIN_CLASS="io.peft4j.examples.DigitsDemo"
JAVA="${JAVA_HOME:+$JAVA_HOME/bin/}java"
NOISE='^SLF4J\(W\)|LegacyTypeDispatch'

# ---------------------------------------------------------------------------------------------------------- build
needs_build() {
  [[ "$REBUILD" == 1 ]] && return 0
  local artifact
  for artifact in "$AGENT_JAR" "$CP_FILE" "$CLASSES/io/peft4j/examples/DigitsDemo.class"; do
    [[ -f "$artifact" ]] || return 0
    if [[ -n "$(find pom.xml core/pom.xml agent/pom.xml examples/pom.xml core/src/main agent/src/main \
        examples/src/main -newer "$artifact" -type f -print -quit 2>/dev/null)" ]]; then
      return 0
    fi
  done
  return 1
}

if needs_build; then
  echo "=== build: mvn -pl agent,examples -am package -DskipTests"
  if ! mvn -o -q -pl agent,examples -am package -DskipTests; then
    echo "offline build failed; retrying with network access" >&2
    mvn -q -pl agent,examples -am package -DskipTests
  fi
else
  echo "=== build: up to date (agent jar, examples classes and classpath); --rebuild forces Maven"
fi
CP="$CLASSES:$(cat "$CP_FILE")"

# ---------------------------------------------------------------------------------------------------------- steps
mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"
LOGS="$OUT/logs"
rm -rf "$OUT/base" "$OUT/full" "$OUT/lora" "$OUT/lora-adapter" "$OUT/adapter-config" "$LOGS" \
  "$OUT/loss-curves.png"
mkdir -p "$LOGS" "$OUT/adapter-config"

declare -A STATUS=()
declare -A ELAPSED=()

# run_step NAME TITLE JAVA_ARGS... : runs one JVM, shows its output, keeps it in $LOGS/NAME.log.
run_step() {
  local name="$1" title="$2"
  shift 2
  echo
  echo "=== $name: $title"
  # The command as a user would type it, with the long classpath abbreviated.
  local shown=("$@")
  local i
  for i in "${!shown[@]}"; do
    [[ "${shown[$i]}" == "$CP" ]] && shown[$i]='<classpath>'
  done
  echo "\$ java ${shown[*]}"
  local start end status
  start=$(date +%s%N)
  set +e
  "$JAVA" "$@" 2>&1 | tee "$LOGS/$name.log" | grep --line-buffered -v -E "$NOISE"
  status=${PIPESTATUS[0]}
  set -e
  end=$(date +%s%N)
  STATUS[$name]=$status
  ELAPSED[$name]=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", (b - a) / 1e9 }')
  if [[ $status -ne 0 ]]; then
    echo "!!! $name failed with exit status $status (full output: $LOGS/$name.log)" >&2
  fi
  return 0
}

require_ok() {
  if [[ "${STATUS[$1]}" -ne 0 ]]; then
    echo "demo.sh: step '$1' failed; stopping. See $LOGS/$1.log" >&2
    exit 1
  fi
}

LR_ARGS=()
[[ -n "$LR" ]] && LR_ARGS=(--lr "$LR")
BASE_OPTS=(-Dai.djl.offline=true -cp "$CP")

run_step pretrain "pre-train the base classifier on the original digits (no agent)" \
  "${BASE_OPTS[@]}" "$MAIN_CLASS" pretrain --out "$OUT"
require_ok pretrain

run_step full "full fine-tuning on rotated digits: the application alone, every weight trains" \
  "${BASE_OPTS[@]}" "$MAIN_CLASS" finetune --base "$OUT/base" --out "$OUT/full" --epochs "$EPOCHS" \
  ${LR_ARGS[@]+"${LR_ARGS[@]}"}
require_ok full

TARGETS_JSON="$(printf '"%s",' ${TARGETS//,/ })"
cat > "$OUT/adapter-config/adapter_config.json" <<EOF
{
  "peft_type": "LORA",
  "r": $RANK,
  "lora_alpha": $ALPHA,
  "target_modules": [${TARGETS_JSON%,}],
  "lora_dropout": 0.0,
  "bias": "none"
}
EOF
echo
echo "=== adapter config written to $OUT/adapter-config/adapter_config.json:"
cat "$OUT/adapter-config/adapter_config.json"

run_step lora "LoRA fine-tuning: the SAME command, plus the peft4j agent" \
  "-javaagent:$AGENT_JAR=adapter=$OUT/adapter-config,save=$OUT/lora-adapter" \
  "${BASE_OPTS[@]}" "$MAIN_CLASS" finetune --base "$OUT/base" --out "$OUT/lora" --epochs "$EPOCHS" \
  ${LR_ARGS[@]+"${LR_ARGS[@]}"}
require_ok lora

run_step evaluate "a fresh JVM: the untouched base model plus the saved adapter" \
  "-javaagent:$AGENT_JAR=adapter=$OUT/lora-adapter" \
  "${BASE_OPTS[@]}" "$MAIN_CLASS" evaluate --base "$OUT/base"

run_step chart "loss curves of both runs" \
  -Djava.awt.headless=true "${BASE_OPTS[@]}" "$MAIN_CLASS" chart \
  --lora "$OUT/lora/loss.csv" --full "$OUT/full/loss.csv" --out "$OUT/loss-curves.png"

# ---------------------------------------------------------------------------------------------------------- summary
prop() { sed -n "s/^$2=//p" "$1" | head -n 1; }
pct() { awk -v x="$1" 'BEGIN { if (x == "") print "n/a"; else printf "%.2f%%", 100 * x }'; }
commas() { sed ':a;s/\B[0-9]\{3\}\>/,&/;ta' <<<"$1"; }
kib() { awk -v b="$1" 'BEGIN { printf "%.1f KiB", b / 1024 }'; }

FULL_PROPS="$OUT/full/results.properties"
LORA_PROPS="$OUT/lora/results.properties"
SHIFT="$(prop "$FULL_PROPS" shift)"
BASE_ACC="$(prop "$FULL_PROPS" accuracy_before)"
FULL_ACC="$(prop "$FULL_PROPS" accuracy_after)"
LORA_ACC="$(prop "$LORA_PROPS" accuracy_after)"
BASE_ORIG="$(prop "$OUT/base/pretrain.properties" accuracy_original)"
FULL_ORIG="$(prop "$FULL_PROPS" accuracy_original_after)"
LORA_ORIG="$(prop "$LORA_PROPS" accuracy_original_after)"
RELOAD_ACC=""
RELOAD_ORIG=""
if [[ "${STATUS[evaluate]}" -eq 0 ]]; then
  RELOAD_ACC="$(sed -n 's/^shifted-domain ([a-z0-9]*) test accuracy: \([0-9.]*\)%.*/\1/p' "$LOGS/evaluate.log" \
    | head -n 1 | awk '{ if ($1 != "") printf "%.6f", $1 / 100 }')"
  RELOAD_ORIG="$(sed -n 's/^original-domain test accuracy: \([0-9.]*\)%.*/\1/p' "$LOGS/evaluate.log" \
    | head -n 1 | awk '{ if ($1 != "") printf "%.6f", $1 / 100 }')"
fi
GAIN_RATIO="$(awk -v b="$BASE_ACC" -v f="$FULL_ACC" -v l="$LORA_ACC" \
  'BEGIN { if (f - b <= 0) print "n/a"; else printf "%.1f", 100 * (l - b) / (f - b) }')"
FULL_GAIN="$(awk -v b="$BASE_ACC" -v f="$FULL_ACC" 'BEGIN { printf "%+.2f", 100 * (f - b) }')"
LORA_GAIN="$(awk -v b="$BASE_ACC" -v l="$LORA_ACC" 'BEGIN { printf "%+.2f", 100 * (l - b) }')"
params() {
  printf '%s of %s (%.2f%%)' "$(commas "$(prop "$1" trainable_params)")" "$(commas "$(prop "$1" total_params)")" \
    "$(prop "$1" trainable_percent)"
}
secs() { awk -v s="$(prop "$1" train_seconds)" 'BEGIN { printf "%.1f s", s }'; }
ADAPTER_BYTES=0
for f in "$OUT/lora-adapter"/*; do
  [[ -f "$f" ]] && ADAPTER_BYTES=$((ADAPTER_BYTES + $(stat -c %s "$f")))
done
BASE_BYTES=0
for f in "$OUT/base"/*.params; do
  [[ -f "$f" ]] && BASE_BYTES=$((BASE_BYTES + $(stat -c %s "$f")))
done

echo
echo "==================================================== peft4j demo: summary ===================================================="
echo "DJL Mlp 64-256-256-10 pre-trained on original 8x8 digits, fine-tuned on $SHIFT digits (1347 train / 450 test samples);"
echo "LoRA r=$RANK, lora_alpha=$ALPHA on modules [$TARGETS]; $EPOCHS epochs for both fine-tunes."
echo
FMT='%-36s %16s %16s   %-28s %10s %8s\n'
printf "$FMT" "" "$SHIFT acc." "original acc." "trainable parameters" "training" "JVM"
printf "$FMT" "base model (no fine-tuning)" "$(pct "$BASE_ACC")" "$(pct "$BASE_ORIG")" "-" "-" "${ELAPSED[pretrain]} s"
printf "$FMT" "full fine-tune (no agent)" "$(pct "$FULL_ACC")" "$(pct "$FULL_ORIG")" "$(params "$FULL_PROPS")" \
  "$(secs "$FULL_PROPS")" "${ELAPSED[full]} s"
printf "$FMT" "LoRA fine-tune (agent)" "$(pct "$LORA_ACC")" "$(pct "$LORA_ORIG")" "$(params "$LORA_PROPS")" \
  "$(secs "$LORA_PROPS")" "${ELAPSED[lora]} s"
if [[ -n "$RELOAD_ACC" ]]; then
  printf "$FMT" "saved adapter, fresh JVM (agent)" "$(pct "$RELOAD_ACC")" "$(pct "$RELOAD_ORIG")" "-" "-" \
    "${ELAPSED[evaluate]} s"
else
  printf "$FMT" "saved adapter, fresh JVM (agent)" "FAILED" "" "see $LOGS/evaluate.log" "-" "${ELAPSED[evaluate]} s"
fi
echo
echo "accuracy gain on $SHIFT digits: full fine-tune $FULL_GAIN points, LoRA $LORA_GAIN points"
echo "  => LoRA reaches $GAIN_RATIO% of the full fine-tune's gain"
echo

CHECKS_FAILED=0
check() {
  local ok="$1" text="$2"
  if [[ "$ok" == 1 ]]; then
    echo "  [PASS] $text"
  else
    echo "  [FAIL] $text"
    CHECKS_FAILED=1
  fi
}
echo "checks:"
check "$(awk -v r="$GAIN_RATIO" 'BEGIN { print (r != "n/a" && r + 0 >= 90) ? 1 : 0 }')" \
  "LoRA gain >= 90% of the full fine-tune's gain ($GAIN_RATIO%)"
check "$(awk -v p="$(prop "$LORA_PROPS" trainable_percent)" 'BEGIN { print (p + 0 < 10) ? 1 : 0 }')" \
  "LoRA trains < 10% of the parameters ($(prop "$LORA_PROPS" trainable_percent | awk '{ printf "%.2f", $1 }')%)"
check "$(awk -v a="$RELOAD_ACC" -v b="$LORA_ACC" \
  'BEGIN { d = a - b; if (d < 0) d = -d; print (a != "" && d <= 0.005) ? 1 : 0 }')" \
  "the saved adapter reproduces the LoRA accuracy in a fresh JVM ($(pct "$RELOAD_ACC") vs $(pct "$LORA_ACC"))"
check "$([[ "${STATUS[chart]}" -eq 0 && -s "$OUT/loss-curves.png" ]] && echo 1 || echo 0)" "loss chart written"
echo
echo "artifacts:"
echo "  LoRA adapter (PEFT format):  $OUT/lora-adapter/  ($(ls "$OUT/lora-adapter" 2>/dev/null | tr '\n' ' ')$(kib "$ADAPTER_BYTES"))"
echo "  base model (unchanged):      $OUT/base/  ($(kib "$BASE_BYTES"); full fine-tuning needs a whole new copy of it)"
echo "  loss curves:                 $OUT/loss-curves.png"
echo "  per-epoch losses:            $OUT/full/loss.csv, $OUT/lora/loss.csv"
echo "  logs:                        $LOGS/"
echo "total demo time: ${SECONDS} s"

if [[ "${STATUS[evaluate]}" -ne 0 || "${STATUS[chart]}" -ne 0 ]]; then
  exit 1
fi
if [[ "$CHECKS_FAILED" -ne 0 ]]; then
  exit 3
fi
