#!/usr/bin/env bash
# `make model`: the default model from nothing, stage by stage; every stage is skipped when its
# output exists and resumed (or re-run) when a kill cut it short, so re-run the script after an
# interruption. Hours on the project's 2-core CPU.
#
#   bash scripts/release.sh [LAST_STAGE]      e.g. `prepare`: fetch and prepare only
#
# The recipe (sources, weights, step counts, each verb's arguments) is configs/release-recipe.sh.
# Its training stages are TRAIN (from scratch) and the fine-tunes FINETUNE_STAGES names, in order,
# each NAME with its variables NAME_DATA, NAME_SOURCES, NAME_WEIGHTS, NAME_RUN, NAME_PHASES, NAME_ARGS.
#   1. fetch      `pinhan fetch FETCH_SOURCES` into SOURCES_CACHE (a stamped source is not fetched again)
#   2. prepare    every stage's NAME_DATA, one `pinhan prepare` call each (a directory two stages name
#                 once); skipped when the directory's prepare_report.json exists (an error if it names
#                 other sources or weights)
#   3. train      TRAIN_CONFIG from scratch on TRAIN_DATA into TRAIN_RUN, TRAIN_PHASES in order
#   4. finetune   each of FINETUNE_STAGES: the previous stage's NAME_RUN/last (the first: TRAIN_RUN/last)
#                 on NAME_DATA into NAME_RUN, NAME_PHASES in order (a phase the run's last checkpoint
#                 has reached is skipped, an unfinished one resumed)
#   5. lm         `pinhan lm` on a copy of the last fine-tune's NAME_RUN/last with its NAME_DATA,
#                 swapped in when complete
#   6. polyphone  `pinhan polyphone` into that model's polyphone.safetensors
#   7. ship       scripts/ship_model.py on that model --out SHIP_DIR (<= 40 MB); skipped when
#                 SHIP_DIR/config.json is newer than every file of the model
# A run's last checkpoint changes only while it trains, which drops what lm and polyphone added, so
# those stages and ship follow. A run or data directory made from another recipe is refused, not
# reused. Not checked: that a fine-tune's starting checkpoint has not trained further since the
# fine-tune began from it (move the later runs away when an earlier stage is changed).
#
# Environment:
#   PINHAN_RECIPE   the recipe file (default configs/release-recipe.sh)
#   PINHAN_BENCH    ../shared/bench: cpp-dev.jsonl (training data) and heldout-clauses.txt
#   PINHAN_PYTHON   an interpreter with pinhan installed (default .venv, made by scripts/venv.sh)
#   PINHAN_FETCH_FROM, PINHAN_SOURCES_LOCK   artifacts from a directory, another lock (offline
#                   machines, tests): src/pinhan/data/corpora/fetch.py
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
STAGES=(fetch prepare train finetune lm polyphone ship)
last_stage=${1:-ship}
[[ " ${STAGES[*]} " == *" $last_stage "* ]] || { echo "release.sh: unknown stage $last_stage (stages: ${STAGES[*]})" >&2; exit 2; }
if [ -n "${PINHAN_PYTHON:-}" ]; then py=$PINHAN_PYTHON; else source scripts/venv.sh; py=.venv/bin/python; fi
bench=${PINHAN_BENCH:-../shared/bench}
recipe=${PINHAN_RECIPE:-configs/release-recipe.sh}
source "$recipe"

pinhan() { echo "+ pinhan $*"; "$py" -m pinhan.cli "$@"; }
say() { echo "release.sh: $*"; }
die() { echo "release.sh: $*" >&2; exit 1; }

# --- the recipe's training stages ------------------------------------------------------------------
# bash has no list of records: a stage is a NAME whose variables carry it as a prefix, so each reads
# as plainly in the recipe as TRAIN_* does, and adding or dropping a fine-tune is one FINETUNE_STAGES
# entry (configs/release-recipe.bundled.sh drops the third).
load_stage() {  # load_stage NAME: the stage's variables into the caller's data sources weights run phases args
  local -n _data=${1}_DATA _sources=${1}_SOURCES _weights=${1}_WEIGHTS _run=${1}_RUN _phases=${1}_PHASES _args=${1}_ARGS
  data=$_data sources=("${_sources[@]}") weights=$_weights run=$_run phases=("${_phases[@]}") args=("${_args[@]}")
}

check_recipe() {  # before any work: every stage complete, one recipe per data directory, one stage per run
  local name var data sources weights run phases args
  local -A prepared_by=() trained_by=()
  [ -n "${FINETUNE_STAGES+x}" ] && (( ${#FINETUNE_STAGES[@]} )) || die "$recipe: FINETUNE_STAGES names no fine-tune stage"
  for name in TRAIN "${FINETUNE_STAGES[@]}"; do
    for var in DATA SOURCES WEIGHTS RUN PHASES ARGS; do
      declare -p "${name}_$var" > /dev/null 2>&1 || die "$recipe: stage $name has no ${name}_$var"
    done
    load_stage "$name"
    if [ -n "${prepared_by[$data]+x}" ] && [ "${prepared_by[$data]}" != "${sources[*]} $weights" ]; then
      die "$recipe: two stages name $data with different sources or weights (${prepared_by[$data]} / ${sources[*]} $weights)"
    fi
    prepared_by[$data]="${sources[*]} $weights"
    [ -z "${trained_by[$run]+x}" ] || die "$recipe: stages ${trained_by[$run]} and $name both train in $run"
    trained_by[$run]=$name
  done
}
check_recipe
final_stage=${FINETUNE_STAGES[-1]}  # lm, polyphone and ship work on its model
final_run_var=${final_stage}_RUN final_data_var=${final_stage}_DATA
final_run=${!final_run_var} final_data=${!final_data_var}

# --- what is done ----------------------------------------------------------------------------------
prepared_as() {  # prepared_as DIR WEIGHTS SOURCE...: DIR's prepare report names these sources and weights
  "$py" - "$@" <<'EOF'
import json, sys, yaml
path, weights, *sources = sys.argv[1:]
config = json.load(open(f"{path}/prepare_report.json", encoding="utf-8"))["config"]
same = config["sources"] == sources and (config.get("weights") or {}) == (yaml.safe_load(weights) or {})
sys.exit(0 if same else f"release.sh: {path} was prepared from {config['sources']} with weights {config.get('weights')}, "
         f"the recipe asks for {sources} with {weights}: move it away to prepare it again")
EOF
}

recover_run() {  # a kill between a checkpoint's two renames leaves RUN/.last.old and no RUN/last: put it back
  if [ ! -d "$1/last" ] && [ -d "$1/.last.old" ]; then
    say "$1: finishing an interrupted checkpoint swap"
    "$py" -c 'import sys; from pathlib import Path; from pinhan.train.checkpoint import recover; recover(Path(sys.argv[1]), "last")' "$1"
  fi
}

step_of() {  # the step RUN's last checkpoint stands at (0: none)
  [ -f "$1/last/train_state.json" ] || { echo 0; return; }
  "$py" -c 'import json, sys; print(json.load(open(sys.argv[1]))["state"]["step"])' "$1/last/train_state.json"
}

trained_as() {  # trained_as RUN DATA [FROM]: a checkpoint in RUN was trained on DATA (fine-tuned from FROM)
  [ -f "$1/last/config.json" ] || return 0
  "$py" - "$@" <<'EOF'
import json, os, sys
run, *want = sys.argv[1:]
recipe = json.load(open(f"{run}/last/config.json", encoding="utf-8")).get("recipe") or {}
got = [recipe.get("data"), (recipe.get("finetune") or {}).get("from")][: len(want)]
if [os.path.normpath(str(g)) for g in got] != [os.path.normpath(w) for w in want]:
    sys.exit(f"release.sh: {run} was trained on {' from '.join(map(str, got))}, the recipe asks for "
             f"{' from '.join(want)}: move it away (or name another run directory) to train afresh")
EOF
}

run_phases() {  # run_phases STAGE RUN FRESH_ARGS_ARRAY RESUME_ARGS_ARRAY PHASE...
  local stage=$1 run=$2 phase max stop target at
  local -n _fresh=$3 _again=$4
  shift 4
  for phase in "$@"; do
    max=${phase%%:*} stop=${phase#*:}
    target=$(( stop > 0 ? stop : max ))
    at=$(step_of "$run")
    if (( at >= target )); then say "$stage: $run is at step $at, phase $phase done"; continue; fi
    if [ -d "$run/last" ]; then
      say "$stage: resuming $run at step $at (phase $phase)"
      pinhan "${_again[@]}" --resume "train.max_steps=$max" "train.stop_at_step=$stop"
    else
      pinhan "${_fresh[@]}" "train.max_steps=$max" "train.stop_at_step=$stop"
    fi
    at=$(step_of "$run")
    (( at >= target )) || die "$stage: $run stopped at step $at, before $target (early stopping? see its metrics.csv)"
  done
}

# --- the stages ------------------------------------------------------------------------------------
stage_fetch() {
  (( ${#FETCH_SOURCES[@]} )) || { say "fetch: the recipe names no source"; return; }
  pinhan fetch "${FETCH_SOURCES[@]}" --cache "$SOURCES_CACHE"
}

prepare_dir() {  # prepare_dir DIR WEIGHTS SOURCE...
  local dir=$1 weights=$2
  shift 2
  if [ -f "$dir/prepare_report.json" ]; then
    prepared_as "$dir" "$weights" "$@" || exit 1
    say "prepare: $dir is prepared"
    return
  fi
  pinhan prepare "$@" --out "$dir" --overwrite --quiet "sources_cache=$SOURCES_CACHE" "weights=$weights" "${PREPARE_ARGS[@]}"
}

stage_prepare() {
  local name data sources weights run phases args
  local -A prepared=()  # a directory two stages name is prepared once (check_recipe: from the same sources)
  for name in TRAIN "${FINETUNE_STAGES[@]}"; do
    load_stage "$name"
    [ -z "${prepared[$data]+x}" ] || continue
    prepared[$data]=1
    prepare_dir "$data" "$weights" "${sources[@]}"
  done
}

stage_train() {
  local fresh=(train --config "$TRAIN_CONFIG" --data "$TRAIN_DATA" --out "$TRAIN_RUN" --quiet "${TRAIN_ARGS[@]}")
  local again=(train --data "$TRAIN_DATA" --out "$TRAIN_RUN" --quiet)  # --resume keeps the run's own recipe
  recover_run "$TRAIN_RUN"
  trained_as "$TRAIN_RUN" "$TRAIN_DATA" || exit 1
  run_phases train "$TRAIN_RUN" fresh again "${TRAIN_PHASES[@]}"
}

stage_finetune() {  # FINETUNE_STAGES in order, each from the previous stage's last checkpoint
  local name from=$TRAIN_RUN data sources weights run phases args
  for name in "${FINETUNE_STAGES[@]}"; do
    load_stage "$name"
    # finetune rebuilds its config from the overrides on --resume too, so both get all of them
    local fresh=(finetune --from "$from/last" --data "$data" --out "$run" --quiet "${args[@]}")
    recover_run "$from"
    recover_run "$run"
    [ -d "$from/last" ] || die "finetune $name: $from/last is missing (run the stage before it)"
    trained_as "$run" "$data" "$from/last" || exit 1
    run_phases "finetune $name" "$run" fresh fresh "${phases[@]}"
    from=$run
  done
}

final_model() {  # sets $model: the one lm, polyphone and ship work on, an interrupted checkpoint swap finished
  recover_run "$final_run"
  model=$final_run/last
  [ -d "$model" ] || die "$1: $model is missing (run the finetune stage)"
}

stage_lm() {
  local kind work=$final_run/.last.lm
  final_model lm
  # the model directory's file names (pinhan.data.model_dir.ModelDir)
  local chars=0 words=0 homophones=1
  [ -f "$model/lm.safetensors" ] && chars=1
  [ -f "$model/words.json.gz" ] && [ -f "$model/words.safetensors" ] && words=1
  [ "${HOMOPHONES:-0}" = 1 ] && [ ! -f "$model/homophones.safetensors" ] && homophones=0
  case $chars$words in
    11) kind= ;;
    10) kind=words ;;
    01) kind=chars ;;
    *) kind=both ;;
  esac
  if [ -z "$kind" ] && [ $homophones = 1 ]; then say "lm: $model has its n-gram, word model and homophone chooser"; return; fi
  # `pinhan lm` writes into the model directory, the word model twice (before and after its weights
  # are chosen): it works on a copy, swapped in with the checkpoint's renames (recover_run undoes a
  # kill between them), so that a model with the lm's files has them complete
  rm -rf "$work"
  cp -r "$model" "$work"
  # --sources-cache: where the fetch stage put the frequency lists (LM_ARGS' --frequencies)
  [ -z "$kind" ] || pinhan lm --model "$work" --data "$final_data" --kind "$kind" --sources-cache "$SOURCES_CACHE" "${LM_ARGS[@]}"
  # the homophone chooser rescores the word lattice's paths: built after the word model
  [ $homophones = 1 ] || pinhan lm --model "$work" --data "$final_data" --kind homophones "${HOMOPHONE_SETTINGS[@]}" "${HOMOPHONE_ARGS[@]}"
  rm -rf "$final_run/.last.old"
  mv "$model" "$final_run/.last.old"
  mv "$work" "$model"
  rm -rf "$final_run/.last.old"
}

stage_polyphone() {
  final_model polyphone
  if [ -f "$model/polyphone.safetensors" ]; then say "polyphone: $model has its polyphone head"; return; fi
  pinhan polyphone --model "$model" "${POLYPHONE_ARGS[@]}"  # written through a temporary file
}

stage_ship() {
  final_model ship
  if [ -f "$SHIP_DIR/config.json" ] && [ -z "$(find "$model" -newer "$SHIP_DIR/config.json" -print -quit)" ]; then
    say "ship: $SHIP_DIR is newer than $model"
    return
  fi
  echo "+ scripts/ship_model.py $model --out $SHIP_DIR"
  "$py" scripts/ship_model.py "$model" --out "$SHIP_DIR"
}

for stage in "${STAGES[@]}"; do
  say "== $stage"
  "stage_$stage"
  [ "$stage" != "$last_stage" ] || break
done
