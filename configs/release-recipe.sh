# The default model's recipe: what `make model` (scripts/release.sh) fetches, prepares, trains and
# ships. The script sources this file (bash, after setting $bench); PINHAN_RECIPE=FILE runs another
# recipe instead, which may source this one and change a few variables
# (configs/release-recipe.shipped.sh does; tests/scripts/test_release.py does, at toy scale).
#
# A sourced shell file rather than yaml: every value here is a command-line argument of a `pinhan`
# verb, so bash arrays hold them as they are typed, with no parser in between, and a recipe that
# sources this one changes one list and keeps the rest.
#
# $bench is ../shared/bench (PINHAN_BENCH): cpp-dev.jsonl is training data by its README, and
# heldout-clauses.txt filters every added text source. No *-test.jsonl is ever read here.
#
# NOT YET RUN: the shipped model (MODEL.md) was made by configs/release-recipe.shipped.sh, on the
# bundled corpus and cpp-dev only. The sources below and their weights are still being measured.

# --- fetch: the pinned sources (src/pinhan/data/corpora/sources.lock.json) -----------------------
FETCH_SOURCES=(inews manpages libreoffice-help poetry wordfreq jionlp)
SOURCES_CACHE=data/cache/sources

# --- prepare: one data directory per training stage, each from one `pinhan prepare` call ----------
# SOURCES: `bundled`, paths and named corpora; WEIGHTS: the mixture weight per named corpus
# (PrepareConfig.weights: 0.2 keeps a fifth of the 18M characters of poems; a missing name is 1).
# Two stages naming the same directory must name the same sources; it is prepared once.
MIX_SOURCES=(bundled "$bench/cpp-dev.jsonl" inews manpages libreoffice-help poetry)
MIX_WEIGHTS="{poetry: 0.2}"
TRAIN_DATA=data/release-mix
TRAIN_SOURCES=("${MIX_SOURCES[@]}")
TRAIN_WEIGHTS=$MIX_WEIGHTS
FINETUNE_DATA=data/release-mix
FINETUNE_SOURCES=("${MIX_SOURCES[@]}")
FINETUNE_WEIGHTS=$MIX_WEIGHTS
PREPARE_ARGS=("heldout=$bench/heldout-clauses.txt")  # more PrepareConfig overrides, for every directory

# --- train and finetune ----------------------------------------------------------------------------
# PHASES: the schedule's train.max_steps:train.stop_at_step (0: to the end), run in order; a phase
# the run's last checkpoint has reached is skipped, an unfinished one resumed (`--resume`).
# The step counts are the shipped model's: 1. the first 3,000 steps of configs/release.yaml's
# 16,000-step schedule; 2. a 5,500-step schedule stopped after 2,000 steps, then resumed with a
# 3,800-step one so that the learning rate decays within the time there was (MODEL.md, "Recipe").
TRAIN_CONFIG=configs/release.yaml
TRAIN_RUN=runs/release-general
TRAIN_PHASES=(16000:3000)
TRAIN_ARGS=()  # overrides for the fresh start (the preset holds the rest)
FINETUNE_RUN=runs/release-general-ft
FINETUNE_PHASES=(5500:2000 3800:0)
FINETUNE_ARGS=(train.lr=8e-4 train.warmup_steps=100 train.eval_every=1000 train.threads=2)

# --- lm, polyphone, ship ---------------------------------------------------------------------------
# `pinhan lm --model <finetune run>/last --data $FINETUNE_DATA` plus these (not --kind: the script
# builds what is missing); then `pinhan polyphone --model <the same>` (PolyphoneTrainConfig
# overrides and options; teacher g2pM needs the `bench` extra), then scripts/ship_model.py.
LM_ARGS=(--min-count 2 2 3 --weights 0 0.5 1 1.5 2 3 --threads 2 --word-min-count 1 3 --word-weights 0 0.1 0.25 0.5
         --heldout "$bench/heldout-clauses.txt")
POLYPHONE_ARGS=(dev_fraction=0 "labelled=[$bench/cpp-dev.jsonl]" "heldout=$bench/heldout-clauses.txt" --threads 1)
SHIP_DIR=src/pinhan/assets/default_model
