"""Ship a trained model as the package's default: int8 weights, its character n-gram, word
lexicon and word n-gram, polyphone head, homophone chooser (when built), vocabulary and lexicon in
``src/pinhan/assets/default_model``, the training history in ``config.json``; the model card
(``MODEL.md``) already there is kept.

Run: ``.venv/bin/python scripts/ship_model.py runs/release-mix/last``

The history follows ``recipe.finetune.from`` back to the run that trained from scratch and
records each stage's data, steps, tokens and wall-clock seconds (from its ``train_state.json``).
The whole directory must stay within 40 MB; it is written beside the old one and
swapped in only when complete.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

import torch

from pinhan.data.model_dir import ModelDir
from pinhan.model.io import load_model, save_model
from pinhan.train.checkpoint import STATE_JSON

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = ROOT / "src" / "pinhan" / "assets" / "default_model"
LIMIT_BYTES = 40 * 1000 * 1000  # the issue-14/15 budget for the whole directory (MODEL.md lists each file)
# copied as they are; the weights are rewritten in int8
SHIPPED = (ModelDir.VOCAB, ModelDir.LEXICON, ModelDir.NGRAM, ModelDir.WORDS, ModelDir.WORD_NGRAM, ModelDir.POLYPHONE)
OPTIONAL = (ModelDir.HOMOPHONES,)  # copied when the recipe built it (HOMOPHONES=1)
CARD = "MODEL.md"  # written by hand, not by training: kept when the model is replaced


def history(model_dir: Path) -> list[dict]:
    """Training stages, from scratch first."""
    stages = []
    seen = set()
    while model_dir is not None and model_dir.resolve() not in seen:
        seen.add(model_dir.resolve())
        recipe = ModelDir(model_dir).recipe()
        if not (model_dir / STATE_JSON).is_file():
            # a shipped model fine-tuned further: its own config.json carries the stages before it
            shipped = ModelDir(model_dir).config()
            if not shipped.get("training_history"):
                raise SystemExit(f"ship_model: {model_dir} has neither {STATE_JSON} nor a recorded training history")
            earlier = [dict(s) for s in shipped["training_history"]]
            earlier[0]["recipe"] = shipped.get("first_stage_recipe") or {}
            for s in earlier[1:]:
                s.setdefault("recipe", {})
            earlier[-1]["shipped_as"] = str(model_dir)  # what the next stage started from (fp16 weights)
            return earlier + stages[::-1]
        state = json.loads((model_dir / STATE_JSON).read_text(encoding="utf-8"))["state"]
        finetune = recipe.get("finetune")
        stages.append({"source": str(model_dir), "data": recipe.get("data"), "steps": state["step"],
                       "tokens": state["tokens"], "seconds": round(state["elapsed_seconds"]),
                       "kind": "fine-tune" if finetune else "from scratch", "resumes": (state.get("extra") or {}).get("resumes", []),
                       "recipe": recipe})
        model_dir = Path(finetune["from"]) if finetune else None
    return stages[::-1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model", type=Path, help="trained model directory (a run's last/ or best/) with its n-gram and word model (pinhan lm)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args()
    src = args.model
    for name in (*SHIPPED, STATE_JSON):
        if not (src / name).is_file():
            print(f"ship_model: {src} has no {name}", file=sys.stderr)
            return 1
    stages = history(src)
    config = ModelDir(src).config()
    tmp = args.out.with_name(args.out.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    extra = {"recipe": config.get("recipe"), "training_history": [{k: v for k, v in s.items() if k != "recipe"} for s in stages],
             "training_total": {"steps": sum(s["steps"] for s in stages), "tokens": sum(s["tokens"] for s in stages),
                                "seconds": sum(s["seconds"] for s in stages)},
             "first_stage_recipe": stages[0]["recipe"], "stored_as": "int8"}
    # int8 rows with a scale each: the Transformer in half the bytes of float16, which makes room
    # for the homophone chooser (pinhan.model.io.save_model)
    save_model(load_model(src), tmp, extra=extra, dtype=torch.int8)
    for name in SHIPPED + tuple(n for n in OPTIONAL if (src / n).is_file()):
        shutil.copyfile(src / name, tmp / name)
    if (args.out / CARD).is_file():
        shutil.copyfile(args.out / CARD, tmp / CARD)
    size = sum(p.stat().st_size for p in tmp.iterdir())
    if size > LIMIT_BYTES:
        shutil.rmtree(tmp)
        print(f"ship_model: {size / 1e6:.1f} MB is over the package's {LIMIT_BYTES / 1e6:.0f} MB", file=sys.stderr)
        return 1
    old = args.out.with_name(args.out.name + ".old")
    shutil.rmtree(old, ignore_errors=True)
    if args.out.exists():
        args.out.rename(old)
    tmp.rename(args.out)
    shutil.rmtree(old, ignore_errors=True)
    total = extra["training_total"]
    print(f"shipped {src} -> {args.out}: {size / 1e6:.1f} MB; {len(stages)} stages, {total['steps']:,} steps, "
          f"{total['tokens'] / 1e6:.1f}M tokens, {total['seconds'] / 60:.0f} minutes")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
