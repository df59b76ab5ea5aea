# The default model's recipe: what `make model` (scripts/release.sh) fetches, prepares, trains and
# ships. The script sources this file (bash, after setting $bench); PINHAN_RECIPE=FILE runs another
# recipe instead, which may source this one and change a few variables
# (configs/release-recipe.bundled.sh does; tests/scripts/test_release.py does, at toy scale).
#
# A sourced shell file rather than yaml: every value here is a command-line argument of a `pinhan`
# verb, so bash arrays hold them as they are typed, with no parser in between, and a recipe that
# sources this one changes one list and keeps the rest.
#
# $bench is ../shared/bench (PINHAN_BENCH): cpp-dev.jsonl is training data by its README, and
# heldout-clauses.txt filters every added text source. No *-test.jsonl is ever read here.
#
# Three training stages: 1. from scratch on the bundled corpus's train split; 2. fine-tuned on it
# plus the labelled CPP dev sentences (where the previous default model stopped:
# configs/release-recipe.bundled.sh); 3. fine-tuned again on that plus general-domain text (inews,
# manpages, LibreOffice help). The poems (`poetry`) are left out: in the word model, at mixture
# weight 0.1, they cost 0.5-1.0 points of character accuracy on dev.

# --- fetch: the pinned sources (src/pinhan/data/corpora/sources.lock.json) -----------------------
# The word-frequency lists (wordfreq, jionlp; `pinhan lm --frequencies`) are not fetched: in the word
# model's prior they moved no dev figure (benchmarks/RESULTS.md, "General-domain sources, second part").
FETCH_SOURCES=(inews manpages libreoffice-help)
SOURCES_CACHE=data/cache/sources

# --- the training stages -----------------------------------------------------------------------
# TRAIN (from scratch) and each stage FINETUNE_STAGES names, in order, each fine-tuned from the
# previous one's last checkpoint. A stage NAME is its variables:
#   NAME_DATA     the data directory, prepared by one `pinhan prepare NAME_SOURCES` call (two stages
#                 naming one directory must name the same sources and weights; it is prepared once)
#   NAME_SOURCES  `bundled`, paths and fetched corpora
#   NAME_WEIGHTS  the mixture weight per fetched corpus (PrepareConfig.weights; a missing name is 1)
#   NAME_RUN      the run directory
#   NAME_PHASES   the schedule's train.max_steps:train.stop_at_step (0: to the end), run in order; a
#                 phase the run's last checkpoint has reached is skipped, an unfinished one resumed
#   NAME_ARGS     overrides: TRAIN_ARGS for the fresh start (TRAIN_CONFIG, the preset, holds the rest;
#                 `--resume` keeps the run's own recipe), a fine-tune's for every call
# Stages 1 and 2 are the previous default model's, step for step: 1. the first 3,000 steps of
# configs/release.yaml's 16,000-step schedule; 2. a 5,500-step schedule stopped after 2,000 steps,
# then resumed with a 3,800-step one so that the learning rate decays within the time there was
# (MODEL.md, "Recipe"). 3. a 2,400-step schedule at a lower learning rate, on one thread. (The
# shipped stage 3 started from stage 2 as shipped, its fp16 weights in src/pinhan/assets/default_model,
# where this recipe starts from the fp32 checkpoint runs/release-mix/last, which no longer existed.)
PREPARE_ARGS=("heldout=$bench/heldout-clauses.txt")  # more PrepareConfig overrides, for every directory
FINETUNE_STAGES=(FINETUNE GENERAL)

TRAIN_DATA=data/bundled
TRAIN_SOURCES=(bundled)
TRAIN_WEIGHTS="{}"
TRAIN_CONFIG=configs/release.yaml
TRAIN_RUN=runs/release
TRAIN_PHASES=(16000:3000)
TRAIN_ARGS=()

FINETUNE_DATA=data/release
FINETUNE_SOURCES=(bundled "$bench/cpp-dev.jsonl")
FINETUNE_WEIGHTS="{}"
FINETUNE_RUN=runs/release-mix
FINETUNE_PHASES=(5500:2000 3800:0)
FINETUNE_ARGS=(train.lr=8e-4 train.warmup_steps=100 train.eval_every=1000 train.threads=2)

GENERAL_DATA=data/release-general
GENERAL_SOURCES=(bundled "$bench/cpp-dev.jsonl" inews manpages libreoffice-help)
GENERAL_WEIGHTS="{}"
GENERAL_RUN=runs/general-ft
GENERAL_PHASES=(2400:0)
GENERAL_ARGS=(train.lr=5e-4 train.warmup_steps=100 train.threads=1 train.eval_every=600)

# --- lm, polyphone, ship ---------------------------------------------------------------------------
# `pinhan lm --model <last stage's run>/last --data <its data> --sources-cache $SOURCES_CACHE` plus
# LM_ARGS (not --kind: the script builds what is missing); then `pinhan polyphone --model <the same>`
# (PolyphoneTrainConfig overrides and options; teacher g2pM needs the `bench` extra), then
# scripts/ship_model.py.
# LM_ARGS, as the shipped model ran them: a 4-gram pruned harder than the previous model's (3 5 6:
# 4.5 MB over four times the text) and an unpruned-bigram word trigram (1 3: 13.7 MB with its 8-bit
# log-probabilities), so the directory stays under 40 MB; weights chosen on 1,000 dev clauses of
# the mixed directory (300 chose weight 0 for the Transformer on a tie).
LM_ARGS=(--min-count 3 5 6 --weights 0 0.5 1 1.5 2 3 --threads 1 --word-min-count 1 3 --word-weights 0 0.1 0.25 0.5
         --dev-items 1000 --heldout "$bench/heldout-clauses.txt")
# The homophone chooser (pinhan lm --kind homophones; HOMOPHONES=0 leaves it out): trained on the
# last stage's data, its weight in accurate conversion chosen on 1,000 of its dev clauses.
# HOMOPHONE_SETTINGS are HomophoneTrainConfig key=value settings (the defaults: 225,000 x 32, what
# the 40 MB directory has room for beside the int8 Transformer; RESULTS.md, "A homophone chooser").
HOMOPHONES=1
HOMOPHONE_SETTINGS=()
HOMOPHONE_ARGS=(--dev-items 1000 --threads 1 --homophone-weights 0 0.1 0.2 0.3)
# The teacher's sentences: 20,000 of the bundled corpus, then news sentences for the polyphones
# those leave short of the cap (benchmarks/RESULTS.md, "Polyphones, fifth part"). The head reads
# the encoder's first layer (PolyphoneTrainConfig.encoder_layers 1; "Polyphones, eighth part").
POLYPHONE_ARGS=(dev_fraction=0 "labelled=[$bench/cpp-dev.jsonl]" "heldout=$bench/heldout-clauses.txt"
                "corpus_sources=[inews]" "sources_cache=$SOURCES_CACHE" --threads 1)
SHIP_DIR=src/pinhan/assets/default_model
