"""scripts/release.sh (`make model`) end to end on stand-ins: the real script and the real recipe
(configs/release-recipe.sh), scaled down by a recipe that sources it (tiny model, a few steps,
one thread) and pointed at a temporary directory; every source from a tiny stand-in of its
format (tests/standins.py) through PINHAN_FETCH_FROM, with its own lock; no registry, no network.

The module's runs share one directory: a first run stopped after finetune part-way, then the
state a kill leaves (a checkpoint swap cut between its renames, a half-built lm copy), a second
run that must resume and ship, a third that must do nothing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from standins import SENTENCES, corpus_texts, heldout_list, source_artifacts, write_mirror

from pinhan.data.corpora import CORPORA
from pinhan.data.corpora.fetch import load_lock

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "release.sh"
HELDOUT_RUN = "块排序文本压缩算法"  # a clause of the manual page stand-in: the held-out rule must drop its line
CARD = "# A hand-written model card\n"

# Sources the real recipe and scales it down; {tmp} is the test's directory. Overrides appended to
# an argument list win over the real recipe's (later keys win in pinhan's overrides and argparse).
TINY_RECIPE = """
source configs/release-recipe.sh
TRAIN_SOURCES=("${{TRAIN_SOURCES[@]/#bundled/{tmp}/bundled.txt}}")
FINETUNE_SOURCES=("${{FINETUNE_SOURCES[@]/#bundled/{tmp}/bundled.txt}}")
SOURCES_CACHE={tmp}/cache
TRAIN_DATA={tmp}/data/mix
FINETUNE_DATA={tmp}/data/mix
PREPARE_ARGS+=(workers=1 extra_charset=none min_count=1 dev_ratio=0.1 test_ratio=0.1)
SMALL=(train.eval_every=2 train.batch_size=8 train.eval_batches=1 train.eval_clauses=8 train.log_every=1 train.threads=1)
TRAIN_CONFIG=configs/tiny.yaml
TRAIN_RUN={tmp}/runs/train
TRAIN_PHASES=(4:0)
TRAIN_ARGS=("${{SMALL[@]}}")
FINETUNE_RUN={tmp}/runs/ft
FINETUNE_PHASES=({finetune_phases})
FINETUNE_ARGS+=("${{SMALL[@]}}")
LM_ARGS+=(--min-count 1 --weights 1 --word-min-count 1 --word-weights 0.25 --no-dictionary --dev-items 4 --threads 1)
POLYPHONE_ARGS+=(teacher=null corpus_sentences=0 epochs=1 skip_fixed=false)  # gold examples at every labelled position
SHIP_DIR={tmp}/shipped
"""
SHIPPED_FILES = ("config.json", "model.safetensors", "vocab.json", "lexicon.json", "lm.safetensors", "words.json.gz",
                 "words.safetensors", "polyphone.safetensors", "MODEL.md")
CPP_ITEMS = [("银行行长说今年的利率不会变。", 1, "hang2"), ("银行行长说今年的利率不会变。", 3, "zhang3"),
             ("我们明天去北京看看长城。", 7, "chang2"), ("长江是中国最长的河流。", 0, "chang2"),
             ("你还要去银行还钱吗？", 1, "hai2"), ("你还要去银行还钱吗？", 6, "huan2"), ("他在研究所工作了十年。", 7, "le5")]


def stand_ins(tmp: Path) -> dict[str, str]:
    """The stand-in sources, bench and recipe under ``tmp``; the environment the script runs in."""
    lock = write_mirror(tmp / "mirror", source_artifacts(corpus_texts(8)))
    pairs = [(a, b) for a in SENTENCES for b in SENTENCES if a != b]  # run-together pairs: clauses only dev may hold
    (tmp / "bundled.txt").write_text("".join([f"{a}，{b}。\n" for a, b in pairs] + [f"{a}{b}。\n" for a, b in pairs[::3]]),
                                     encoding="utf-8")
    (tmp / "bench").mkdir()
    heldout_list(tmp / "bench" / "heldout-clauses.txt", HELDOUT_RUN)
    (tmp / "bench" / "cpp-dev.jsonl").write_text("".join(json.dumps(
        {"id": f"cpp-dev-{i}", "sentence": s, "index": at, "char": s[at], "pinyin": py}, ensure_ascii=False) + "\n"
        for i, (s, at, py) in enumerate(CPP_ITEMS)), encoding="utf-8")
    (tmp / "shipped").mkdir()
    (tmp / "shipped" / "MODEL.md").write_text(CARD, encoding="utf-8")
    return {**os.environ, "PINHAN_PYTHON": sys.executable, "PINHAN_BENCH": str(tmp / "bench"),
            "PINHAN_RECIPE": str(tmp / "recipe.sh"), "PINHAN_FETCH_FROM": str(tmp / "mirror"),
            "PINHAN_SOURCES_LOCK": str(lock), "OMP_NUM_THREADS": "1"}


def release(tmp: Path, env: dict, finetune_phases: str, *stage: str) -> subprocess.CompletedProcess:
    (tmp / "recipe.sh").write_text(TINY_RECIPE.format(tmp=tmp, finetune_phases=finetune_phases), encoding="utf-8")
    return subprocess.run(["bash", str(SCRIPT), *stage], env=env, capture_output=True, text=True, timeout=300)


def state(run: Path) -> dict:
    return json.loads((run / "last" / "train_state.json").read_text(encoding="utf-8"))["state"]


def pinhan_calls(out: str) -> list[str]:
    return [line.split()[2] for line in out.splitlines() if line.startswith("+ pinhan ")]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """(tmp, env, first run, second run): the first stops after finetune at step 3 of a 6-step
    schedule; the second, after a simulated kill, goes on with a 5-step schedule (as the shipped
    recipe did, 5,500 then 3,800) and ships."""
    tmp = tmp_path_factory.mktemp("release")
    env = stand_ins(tmp)
    first = release(tmp, env, "6:3", "finetune")
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    facts = {"first_ft_step": state(tmp / "runs" / "ft")["step"], "lm_in_first": "== lm" in first.stdout,
             "shipped_in_first": (tmp / "shipped" / "config.json").exists()}
    # what a kill leaves: the finetune checkpoint swapped out but not yet back, a half-written
    # temporary checkpoint, a half-built lm copy
    ft = tmp / "runs" / "ft"
    os.replace(ft / "last", ft / ".last.old")
    (ft / ".last.tmp").mkdir()
    (ft / ".last.lm").mkdir()
    (ft / ".last.lm" / "lm.safetensors").write_bytes(b"half")
    train_mtime = (tmp / "runs" / "train" / "last" / "train_state.json").stat().st_mtime_ns
    second = release(tmp, env, "6:3 5:0")
    assert second.returncode == 0, second.stdout[-3000:] + second.stderr[-3000:]
    facts["train_untouched"] = (tmp / "runs" / "train" / "last" / "train_state.json").stat().st_mtime_ns == train_mtime
    return tmp, env, first, second, facts


def test_first_run_fetches_prepares_and_trains_until_the_stage_asked(runs):
    tmp, _, first, _, facts = runs
    for name in ("inews", "manpages", "libreoffice-help", "poetry", "wordfreq", "jionlp"):
        assert any(line.split()[:2] == [name, "fetched"] for line in first.stdout.splitlines()), name
    report = json.loads((tmp / "data" / "mix" / "prepare_report.json").read_text(encoding="utf-8"))
    assert report["config"]["weights"] == {"poetry": 0.2}  # the real recipe's mixture
    per_source = report["per_source"]
    assert set(CORPORA) <= set(per_source) and all(per_source[name]["kept"] > 0 for name in CORPORA)
    assert per_source["manpages"]["heldout"] == 1  # the recipe hands prepare the bench's held-out list
    assert per_source["poetry"]["weighted_out"] > 0 and per_source["inews"].get("weighted_out", 0) == 0
    assert report["gold_readings"] > 0  # cpp-dev's labelled characters
    assert pinhan_calls(first.stdout) == ["fetch", "prepare", "train", "finetune"]
    assert state(tmp / "runs" / "train")["step"] == 4 and facts["first_ft_step"] == 3
    assert not facts["lm_in_first"] and not facts["shipped_in_first"]


def test_interrupted_finetune_is_resumed_not_restarted(runs):
    tmp, _, _, second, facts = runs
    ft = state(tmp / "runs" / "ft")
    assert ft["step"] == 5
    assert ft["extra"]["resumes"] == [{"step": 3, "changed": {"max_steps": [6, 5], "stop_at_step": [3, 0]}}]
    assert "resuming" in second.stdout and facts["train_untouched"]
    assert pinhan_calls(second.stdout) == ["fetch", "finetune", "lm", "polyphone"]
    assert not any((tmp / "runs" / "ft" / name).exists() for name in (".last.old", ".last.tmp", ".last.lm"))


def test_shipped_model_loads_converts_and_records_its_history(runs):
    import pinhan

    tmp = runs[0]
    shipped = tmp / "shipped"
    assert sorted(p.name for p in shipped.iterdir()) == sorted(SHIPPED_FILES)
    assert (shipped / "MODEL.md").read_text(encoding="utf-8") == CARD
    config = json.loads((shipped / "config.json").read_text(encoding="utf-8"))
    history = config["training_history"]
    assert [(h["kind"], h["steps"], h["data"]) for h in history] == [
        ("from scratch", 4, str(tmp / "data" / "mix")), ("fine-tune", 5, str(tmp / "data" / "mix"))]
    model = pinhan.load(shipped, threads=1)
    assert model.lm is not None and model.g2p_engine.bundle.polyphone is not None
    assert model.convert("yinhang", k=2)[0].text and model.g2p("银行行长").pinyin


def test_third_run_does_nothing(runs):
    tmp, env, _, _, _ = runs
    shipped = tmp / "shipped" / "config.json"
    before = shipped.stat().st_mtime_ns
    third = release(tmp, env, "6:3 5:0")
    assert third.returncode == 0, third.stderr[-3000:]
    assert pinhan_calls(third.stdout) == ["fetch"]
    assert all(line.split()[1] == "cached" for line in third.stdout.splitlines() if line.split()[:1] and line.split()[0] in load_lock())
    assert "ship: " in third.stdout and shipped.stat().st_mtime_ns == before


def test_a_data_directory_of_another_recipe_is_refused(runs):
    tmp, env, _, _, _ = runs
    (tmp / "recipe.sh").write_text(TINY_RECIPE.format(tmp=tmp, finetune_phases="6:3 5:0") + 'TRAIN_WEIGHTS="{poetry: 1}"\n'
                                   'FINETUNE_WEIGHTS="{poetry: 1}"\n', encoding="utf-8")
    done = subprocess.run(["bash", str(SCRIPT), "prepare"], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    assert "was prepared from" in done.stderr and "move it away" in done.stderr


def recipe_values(recipe: str, bench: str, *names: str) -> dict[str, list[str]]:
    """The recipe's variables as bash sees them (each a list; a scalar is a list of one)."""
    script = f'bench={bench}; source {recipe}; for n in {" ".join(names)}; do declare -n v=$n; printf "%s\\0" "$n" "${{#v[@]}}" "${{v[@]}}"; unset -n v; done'
    fields = subprocess.run(["bash", "-c", script], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split("\0")
    values, i = {}, 0
    while i < len(fields) - 1:
        name, count = fields[i], int(fields[i + 1])
        values[name], i = fields[i + 2 : i + 2 + count], i + 2 + count
    return values


def test_real_recipe_names_pinned_sources_and_the_shipped_steps():
    v = recipe_values("configs/release-recipe.sh", "B", "FETCH_SOURCES", "TRAIN_SOURCES", "FINETUNE_SOURCES", "TRAIN_PHASES",
                      "FINETUNE_PHASES", "TRAIN_CONFIG", "TRAIN_WEIGHTS", "SHIP_DIR")
    assert set(v["FETCH_SOURCES"]) == set(load_lock())
    assert v["TRAIN_SOURCES"] == v["FINETUNE_SOURCES"] == ["bundled", "B/cpp-dev.jsonl", *CORPORA]
    assert v["TRAIN_WEIGHTS"] == ["{poetry: 0.2}"] and (ROOT / v["TRAIN_CONFIG"][0]).is_file()
    assert v["TRAIN_PHASES"] == ["16000:3000"] and v["FINETUNE_PHASES"] == ["5500:2000", "3800:0"]
    assert v["SHIP_DIR"] == ["src/pinhan/assets/default_model"]


def test_shipped_recipe_is_the_one_the_shipped_model_records():
    """configs/release-recipe.shipped.sh against the shipped model's own history (config.json):
    when the default model is re-made by another recipe, point this test at that one."""
    v = recipe_values("configs/release-recipe.shipped.sh", "../shared/bench", "TRAIN_DATA", "FINETUNE_DATA", "TRAIN_RUN",
                      "FINETUNE_RUN", "TRAIN_PHASES", "FINETUNE_PHASES", "FINETUNE_ARGS", "SHIP_DIR")
    config = json.loads((ROOT / v["SHIP_DIR"][0] / "config.json").read_text(encoding="utf-8"))
    first, second = config["training_history"]
    assert [first["data"], second["data"]] == v["TRAIN_DATA"] + v["FINETUNE_DATA"]
    assert [first["source"], second["source"]] == [f"{v['TRAIN_RUN'][0]}/last", f"{v['FINETUNE_RUN'][0]}/last"]
    (train_max, train_stop), = [map(int, p.split(":")) for p in v["TRAIN_PHASES"]]
    (max1, stop1), (max2, stop2) = [map(int, p.split(":")) for p in v["FINETUNE_PHASES"]]
    assert config["first_stage_recipe"]["train"]["max_steps"] == train_max and first["steps"] == train_stop
    assert second["steps"] == max2 and stop2 == 0
    assert [(r["step"], r["changed"]["max_steps"]) for r in second["resumes"]] == [(stop1, [max1, max2])]
    recorded = config["recipe"]["train"]
    assert {f"train.{key}={value}" for key, value in recorded.items() if key in ("warmup_steps", "eval_every", "threads")} | {"train.lr=8e-4"} \
        == set(v["FINETUNE_ARGS"]) and recorded["lr"] == 8e-4
