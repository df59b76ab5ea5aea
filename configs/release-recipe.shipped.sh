# The recipe the shipped default model was made with (src/pinhan/assets/default_model/MODEL.md,
# "Recipe"), before the general-domain sources: stage 1 on the bundled corpus's train split,
# stage 2 on it plus the labelled CPP dev sentences, in the run directories it used. The step
# counts, the stage-2 overrides and the lm and polyphone arguments are configs/release-recipe.sh's.
#   PINHAN_RECIPE=configs/release-recipe.shipped.sh make model
source configs/release-recipe.sh
FETCH_SOURCES=()
TRAIN_DATA=data/bundled
TRAIN_SOURCES=(bundled)
TRAIN_WEIGHTS="{}"
FINETUNE_DATA=data/release
FINETUNE_SOURCES=(bundled "$bench/cpp-dev.jsonl")
FINETUNE_WEIGHTS="{}"
TRAIN_RUN=runs/release
FINETUNE_RUN=runs/release-mix
