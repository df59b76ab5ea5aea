"""scripts/release.sh (`make model`) end to end on stand-ins: the real script and the real recipe
(configs/release-recipe.sh: train, fine-tune, general-domain fine-tune), scaled down by a recipe
that sources it (tiny model, a few steps, one thread) and pointed at a temporary directory; every
source from a tiny stand-in of its format (tests/standins.py) through PINHAN_FETCH_FROM, with its
own lock; no registry, no network.

The module's runs share one directory: a first run stopped after finetune with the third stage
part-way, then the state a kill leaves (a checkpoint swap cut between its renames, a half-built lm
copy), a second run that must resume and ship, a third that must do nothing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from safetensors import safe_open
from standins import SENTENCES, corpus_texts, heldout_list, source_artifacts, write_mirror

from pinhan.data.corpora.fetch import load_lock

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "release.sh"
HELDOUT_RUN = "块排序文本压缩算法"  # a clause of the manual page stand-in: the held-out rule must drop its line
CARD = "# A hand-written model card\n"
GENERAL_CORPORA = ["inews", "manpages", "libreoffice-help"]  # the third stage's fetched corpora

# Sources the real recipe and scales it down; {tmp} is the test's directory. Overrides appended to
# an argument list win over the real recipe's (later keys win in pinhan's overrides and argparse).
# Stages 1 and 2 share one data directory here (prepared once), to keep the test short.
TINY_RECIPE = """
source configs/release-recipe.sh
FINETUNE_SOURCES=("${{FINETUNE_SOURCES[@]/#bundled/{tmp}/bundled.txt}}")
GENERAL_SOURCES=("${{GENERAL_SOURCES[@]/#bundled/{tmp}/bundled.txt}}")
TRAIN_SOURCES=("${{FINETUNE_SOURCES[@]}}")
SOURCES_CACHE={tmp}/cache
FETCH_SOURCES+=(wordfreq jionlp)  # the toy lm below reads the frequency lists too
TRAIN_DATA={tmp}/data/release
FINETUNE_DATA={tmp}/data/release
GENERAL_DATA={tmp}/data/general
PREPARE_ARGS+=(workers=1 extra_charset=none min_count=1 dev_ratio=0.1 test_ratio=0.1)
SMALL=(train.eval_every=2 train.batch_size=8 train.eval_batches=1 train.eval_clauses=8 train.log_every=1 train.threads=1)
TRAIN_CONFIG=configs/tiny.yaml
TRAIN_RUN={tmp}/runs/train
TRAIN_PHASES=(4:0)
TRAIN_ARGS=("${{SMALL[@]}}")
FINETUNE_RUN={tmp}/runs/ft
FINETUNE_PHASES=(4:2 3:0)
FINETUNE_ARGS+=("${{SMALL[@]}}")
GENERAL_RUN={tmp}/runs/general
GENERAL_PHASES=({general_phases})
GENERAL_ARGS+=("${{SMALL[@]}}")
LM_ARGS+=(--min-count 1 --weights 1 --word-min-count 1 --word-weights 0.25 --no-dictionary --frequencies wordfreq jionlp
          --dev-items 4 --threads 1)
POLYPHONE_ARGS+=(teacher=null corpus_sentences=0 epochs=1 skip_fixed=false)  # gold examples at every labelled position
HOMOPHONE_SETTINGS=(buckets=4096 dim=8 epochs=1 min_count=1)
HOMOPHONE_ARGS+=(--dev-items 4)
SHIP_DIR={tmp}/shipped
"""
SHIPPED_FILES = ("config.json", "model.safetensors", "vocab.json", "lexicon.json", "lm.safetensors", "words.json.gz",
                 "words.safetensors", "polyphone.safetensors", "homophones.safetensors", "MODEL.md")
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


def release(tmp: Path, env: dict, general_phases: str, *stage: str, more: str = "") -> subprocess.CompletedProcess:
    """Run the script on the tiny recipe (``more``: recipe lines appended)."""
    (tmp / "recipe.sh").write_text(TINY_RECIPE.format(tmp=tmp, general_phases=general_phases) + more, encoding="utf-8")
    return subprocess.run(["bash", str(SCRIPT), *stage], env=env, capture_output=True, text=True, timeout=300)


def state(run: Path) -> dict:
    return json.loads((run / "last" / "train_state.json").read_text(encoding="utf-8"))["state"]


def pinhan_calls(out: str) -> list[str]:
    return [line.split()[2] for line in out.splitlines() if line.startswith("+ pinhan ")]


def mtime(run: Path) -> int:
    return (run / "last" / "train_state.json").stat().st_mtime_ns


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """(tmp, env, first run, second run, facts): the first stops after finetune, the third stage at
    step 3 of a 5-step schedule (stage 2 in two phases, as the shipped recipe's 5,500 then 3,800);
    the second, after a simulated kill, goes on to the end of the third stage's schedule and ships."""
    tmp = tmp_path_factory.mktemp("release")
    env = stand_ins(tmp)
    first = release(tmp, env, "5:3", "finetune")
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    facts = {"first_general_step": state(tmp / "runs" / "general")["step"], "lm_in_first": "== lm" in first.stdout,
             "shipped_in_first": (tmp / "shipped" / "config.json").exists()}
    # what a kill leaves: the third stage's checkpoint swapped out but not yet back, a half-written
    # temporary checkpoint, a half-built lm copy
    general = tmp / "runs" / "general"
    os.replace(general / "last", general / ".last.old")
    (general / ".last.tmp").mkdir()
    (general / ".last.lm").mkdir()
    (general / ".last.lm" / "lm.safetensors").write_bytes(b"half")
    before = {name: mtime(tmp / "runs" / name) for name in ("train", "ft")}
    second = release(tmp, env, "5:0")
    assert second.returncode == 0, second.stdout[-3000:] + second.stderr[-3000:]
    facts["untouched"] = {name: mtime(tmp / "runs" / name) for name in ("train", "ft")} == before
    return tmp, env, first, second, facts


def test_first_run_fetches_prepares_and_trains_until_the_stage_asked(runs):
    tmp, _, first, _, facts = runs
    fetched = {line.split()[0] for line in first.stdout.splitlines() if line.split()[1:2] == ["fetched"]}
    assert fetched == {*GENERAL_CORPORA, "wordfreq", "jionlp"}  # the poems are not fetched
    release_report = json.loads((tmp / "data" / "release" / "prepare_report.json").read_text(encoding="utf-8"))
    assert {Path(name).name for name in release_report["per_source"]} == {"bundled.txt", "cpp-dev.jsonl"}  # stages 1, 2
    assert release_report["gold_readings"] > 0  # cpp-dev's labelled characters
    report = json.loads((tmp / "data" / "general" / "prepare_report.json").read_text(encoding="utf-8"))
    assert report["config"]["sources"][2:] == GENERAL_CORPORA and report["config"]["weights"] == {}
    per_source = report["per_source"]
    assert all(per_source[name]["kept"] > 0 and per_source[name].get("weighted_out", 0) == 0 for name in GENERAL_CORPORA)
    assert per_source["manpages"]["heldout"] == 1  # the recipe hands prepare the bench's held-out list
    assert report["gold_readings"] > 0
    assert pinhan_calls(first.stdout) == ["fetch", "prepare", "prepare", "train", "finetune", "finetune", "finetune"]
    assert state(tmp / "runs" / "train")["step"] == 4 and state(tmp / "runs" / "ft")["step"] == 3
    assert state(tmp / "runs" / "ft")["extra"]["resumes"] == [
        {"step": 2, "changed": {"max_steps": [4, 3], "stop_at_step": [2, 0]}}]  # a phase resumed with another schedule
    assert facts["first_general_step"] == 3 and not facts["lm_in_first"] and not facts["shipped_in_first"]


def test_interrupted_third_stage_is_resumed_not_restarted(runs):
    tmp, _, _, second, facts = runs
    general = state(tmp / "runs" / "general")
    assert general["step"] == 5 and general["extra"]["resumes"] == [{"step": 3, "changed": {"stop_at_step": [3, 0]}}]
    assert "resuming" in second.stdout and facts["untouched"]  # the first two stages' runs are done: skipped
    assert pinhan_calls(second.stdout) == ["fetch", "finetune", "lm", "lm", "polyphone"]
    assert not any((tmp / "runs" / "general" / name).exists() for name in (".last.old", ".last.tmp", ".last.lm"))
    assert not (tmp / "runs" / "ft" / "last" / "lm.safetensors").exists()  # lm went to the last stage's model


def test_shipped_model_loads_converts_and_records_its_history(runs):
    import pinhan

    tmp = runs[0]
    shipped = tmp / "shipped"
    assert sorted(p.name for p in shipped.iterdir()) == sorted(SHIPPED_FILES)
    assert (shipped / "MODEL.md").read_text(encoding="utf-8") == CARD
    config = json.loads((shipped / "config.json").read_text(encoding="utf-8"))
    history = config["training_history"]
    release_data, general_data = str(tmp / "data" / "release"), str(tmp / "data" / "general")
    assert [(h["kind"], h["steps"], h["data"], h["source"]) for h in history] == [
        ("from scratch", 4, release_data, f"{tmp}/runs/train/last"), ("fine-tune", 3, release_data, f"{tmp}/runs/ft/last"),
        ("fine-tune", 5, general_data, f"{tmp}/runs/general/last")]
    assert config["recipe"]["train"]["lr"] == 5e-4  # the third stage's overrides
    for name in ("lm.safetensors", "words.safetensors"):  # built on the last stage's data
        with safe_open(shipped / name, "np") as f:
            info = json.loads(f.metadata()["pinhan"])["info"]
        assert info["data"] == general_data, name
    assert info["frequencies"] == ["wordfreq", "jionlp"]  # read from the recipe's SOURCES_CACHE
    model = pinhan.load(shipped, threads=1)
    assert model.lm is not None and model.g2p_engine.bundle.polyphone is not None
    assert config["stored_as"] == "int8" and model.bundle.homophones is not None
    assert model.convert("yinhang", k=2)[0].text and model.g2p("银行行长").pinyin


def test_third_run_does_nothing(runs):
    tmp, env, _, _, _ = runs
    shipped = tmp / "shipped" / "config.json"
    before = shipped.stat().st_mtime_ns
    third = release(tmp, env, "5:0")
    assert third.returncode == 0, third.stderr[-3000:]
    assert pinhan_calls(third.stdout) == ["fetch"]
    assert all(line.split()[1] == "cached" for line in third.stdout.splitlines() if line.split()[:1] and line.split()[0] in load_lock())
    assert all(f"phase {phase} done" in third.stdout for phase in ("4:0", "4:2", "3:0", "5:0"))  # every stage's
    assert "ship: " in third.stdout and shipped.stat().st_mtime_ns == before


def test_a_data_directory_of_another_recipe_is_refused(runs):
    tmp, env, _, _, _ = runs
    done = release(tmp, env, "5:0", "prepare", more='GENERAL_SOURCES=("${GENERAL_SOURCES[@]:0:3}" libreoffice-help)\n')  # no manpages
    assert done.returncode == 1
    assert f"{tmp}/data/general was prepared from" in done.stderr and "move it away" in done.stderr


@pytest.mark.parametrize("more, message", [
    ("GENERAL_DATA=$TRAIN_DATA\n", "two stages name"),
    ("GENERAL_RUN=$FINETUNE_RUN\n", "stages FINETUNE and GENERAL both train in"),
    ("FINETUNE_STAGES+=(EXTRA)\nEXTRA_DATA=x\n", "stage EXTRA has no EXTRA_SOURCES"),
])
def test_an_inconsistent_recipe_is_refused_before_any_work(tmp_path, more, message):
    env = {**os.environ, "PINHAN_PYTHON": "/nonexistent/python", "PINHAN_RECIPE": str(tmp_path / "recipe.sh")}
    done = release(tmp_path, env, "5:0", more=more)
    assert done.returncode == 1 and message in done.stderr and not done.stdout


def recipe_values(recipe: str, bench: str, *names: str) -> dict[str, list[str]]:
    """The recipe's variables as bash sees them (each a list; a scalar is a list of one)."""
    script = f'bench={bench}; source {recipe}; for n in {" ".join(names)}; do declare -n v=$n; printf "%s\\0" "$n" "${{#v[@]}}" "${{v[@]}}"; unset -n v; done'
    fields = subprocess.run(["bash", "-c", script], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split("\0")
    values, i = {}, 0
    while i < len(fields) - 1:
        name, count = fields[i], int(fields[i + 1])
        values[name], i = fields[i + 2 : i + 2 + count], i + 2 + count
    return values


STAGE_VARS = ("DATA", "SOURCES", "WEIGHTS", "RUN", "PHASES", "ARGS")


def stages(recipe: str, bench: str) -> list[dict[str, list[str]]]:
    """The recipe's training stages in order, each its variables (TRAIN_CONFIG too for the first)."""
    names = ["TRAIN", *recipe_values(recipe, bench, "FINETUNE_STAGES")["FINETUNE_STAGES"]]
    v = recipe_values(recipe, bench, "TRAIN_CONFIG", *(f"{n}_{var}" for n in names for var in STAGE_VARS))
    return [{"NAME": [n], **{var: v[f"{n}_{var}"] for var in STAGE_VARS}} for n in names]


def test_real_recipe_names_pinned_sources_and_the_shipped_steps():
    v = recipe_values("configs/release-recipe.sh", "B", "FETCH_SOURCES", "TRAIN_CONFIG", "SHIP_DIR")
    assert v["FETCH_SOURCES"] == [*GENERAL_CORPORA] and set(v["FETCH_SOURCES"]) <= set(load_lock())
    assert (ROOT / v["TRAIN_CONFIG"][0]).is_file() and v["SHIP_DIR"] == ["src/pinhan/assets/default_model"]
    train, finetune, general = stages("configs/release-recipe.sh", "B")
    assert (train["SOURCES"], train["PHASES"]) == (["bundled"], ["16000:3000"])
    assert (finetune["SOURCES"], finetune["PHASES"]) == (["bundled", "B/cpp-dev.jsonl"], ["5500:2000", "3800:0"])
    assert general["DATA"] == ["data/release-general"] and general["SOURCES"] == ["bundled", "B/cpp-dev.jsonl", *GENERAL_CORPORA]
    assert general["WEIGHTS"] == ["{}"] and general["PHASES"] == ["2400:0"]
    assert general["ARGS"] == ["train.lr=5e-4", "train.warmup_steps=100", "train.threads=1", "train.eval_every=600"]
    # the bundled-only recipe is this one's first two stages, then two more fine-tunes on stage 2's data
    bundled = stages("configs/release-recipe.bundled.sh", "B")
    assert bundled[:2] == [train, finetune] and [s["NAME"] for s in bundled[2:]] == [["MORE"], ["MORE2"]]
    assert all(s["DATA"] == finetune["DATA"] and s["SOURCES"] == finetune["SOURCES"] for s in bundled[2:])
    assert [s["PHASES"] for s in bundled[2:]] == [["4500:0"], ["6000:0"]]
    assert recipe_values("configs/release-recipe.bundled.sh", "B", "SHIP_DIR")["SHIP_DIR"] == ["runs/bundled-only-model"]


def expected_history(recipe: list[dict[str, list[str]]]) -> list[tuple[str, str]]:
    return [(f"{s['RUN'][0]}/last", s["DATA"][0]) for s in recipe]


def test_the_shipped_model_is_made_by_a_recipe_here():
    """The shipped model's own history (config.json) against the recipe that made it: the one of
    configs/release-recipe*.sh whose run and data directories it names, stage by stage (steps, the
    schedules it was resumed with, the last stage's overrides)."""
    config = json.loads((ROOT / "src/pinhan/assets/default_model/config.json").read_text(encoding="utf-8"))
    history = config["training_history"]
    recipes = {path.name: stages(f"configs/{path.name}", "../shared/bench") for path in sorted((ROOT / "configs").glob("release-recipe*.sh"))}
    made_by = [name for name, recipe in recipes.items() if expected_history(recipe) == [(h["source"], h["data"]) for h in history]]
    assert made_by, f"the shipped model's history {[(h['source'], h['data']) for h in history]} matches no recipe in configs/"
    recipe = recipes[made_by[0]]
    for stage, done in zip(recipe, history):
        phases = [tuple(map(int, p.split(":"))) for p in stage["PHASES"]]
        assert done["steps"] == (phases[-1][1] or phases[-1][0]), stage["NAME"]
        changed = [(r["step"], r["changed"]["max_steps"]) for r in done["resumes"] if "max_steps" in r["changed"]]
        assert changed == [(a[1], [a[0], b[0]]) for a, b in zip(phases, phases[1:]) if a[0] != b[0]], stage["NAME"]
    assert config["first_stage_recipe"]["train"]["max_steps"] == int(recipe[0]["PHASES"][0].split(":")[0])
    recorded = config["recipe"]["train"]
    for arg in recipe[-1]["ARGS"]:
        key, value = arg.removeprefix("train.").split("=")
        assert recorded[key] == type(recorded[key])(yaml.safe_load(value)), arg

