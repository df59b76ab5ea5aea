import json

import pytest
import torch

from pinhan.cli import main
from pinhan.data.config import PrepareConfig
from pinhan.data.prepare import prepare
from pinhan.model.io import load_model
from pinhan.config import resolve_config
from pinhan.train.config import RunConfig
from pinhan.train.data import load_run_data
from pinhan.train.finetune import grow_vocabulary
from pinhan.train.lora import add_lora, merged_copy
from pinhan.train.loop import fit
from pinhan.model import PinhanModel, tiny

TINY = ["model.size=tiny", "model.d_model=32", "model.d_ff=64", "train.batch_size=8", "train.warmup_steps=2",
        "train.eval_batches=1", "train.eval_clauses=16", "train.log_every=5", "train.threads=1"]


@pytest.fixture(scope="module")
def pretrained(prepared_tiny, tmp_path_factory):
    out = tmp_path_factory.mktemp("pre") / "run"
    fit(resolve_config(RunConfig, None, TINY + ["train.max_steps=20", "train.eval_every=20", "train.lr=3e-3"]),
        load_run_data(prepared_tiny), out, progress=False)
    return out / "last"


@pytest.fixture(scope="module")
def domain(tmp_path_factory):
    """A medical mini-corpus: most characters are new to the pretrained vocabulary."""
    root = tmp_path_factory.mktemp("domain")
    terms = ["肺炎患者咳嗽发热", "医生开了抗生素", "病人需要输液治疗", "血压偏高要吃药", "护士测量体温脉搏",
             "手术前禁食禁水", "胃镜检查没有异常", "糖尿病控制血糖"]
    lines = [f"{a}{b}。" for a in terms for b in terms if a != b] + [f"{a}，{b}。" for a in terms for b in terms]
    (root / "med.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    prepare(PrepareConfig(sources=[str(root / "med.txt")], extra_charset="none", workers=1, min_count=1,
                          dev_ratio=0.15, test_ratio=0.05), root / "data", progress=False)
    return root / "data"


def read_report(stdout: str) -> dict:
    return json.loads(stdout[stdout.index("{\n") : stdout.index("checkpoints:")])


def finetune(pretrained, domain, out, *extra):
    args = ["finetune", "--from", str(pretrained), "--data", str(domain), "--out", str(out), "--quiet",
            "train.batch_size=8", "train.eval_batches=1", "train.eval_clauses=16", "train.warmup_steps=2", "train.lr=3e-3",
            "train.threads=1", *extra]
    return main(args)


def test_full_finetune_grows_the_vocabulary_and_raises_domain_accuracy(pretrained, domain, tmp_path, capsys):
    out = tmp_path / "ft"
    assert finetune(pretrained, domain, out, "--max-steps", "40", "train.eval_every=40") == 0
    report = read_report(capsys.readouterr().out)
    assert report["new_characters"] > 20
    assert report["dev_char_acc_after"] > report["dev_char_acc_before"]
    model = load_model(out / "best")
    vocab = json.loads((out / "best" / "vocab.json").read_text(encoding="utf-8"))
    assert model.config.n_chars == len(vocab["chars"]) and "肺" in vocab["chars"]
    base_vocab = json.loads((pretrained / "vocab.json").read_text(encoding="utf-8"))
    assert vocab["chars"][: len(base_vocab["chars"])] == base_vocab["chars"]  # old ids keep their meaning


@pytest.mark.parametrize("mode", ["lora", "freeze-encoder"])
def test_partial_modes_train_only_their_part(pretrained, domain, tmp_path, capsys, mode):
    out = tmp_path / mode
    assert finetune(pretrained, domain, out, "--mode", mode, "--max-steps", "6", "train.eval_every=6") == 0
    report = read_report(capsys.readouterr().out)
    assert 0 < report["trainable_fraction"] < 0.8
    before, after = load_model(pretrained).state_dict(), load_model(out / "last").state_dict()
    name = "encoder_layers.0.attn.qkv.weight"
    if mode == "freeze-encoder":
        assert torch.equal(before[name], after[name])  # frozen
        assert not torch.equal(before["decoder_layers.0.ff.up.weight"], after["decoder_layers.0.ff.up.weight"])
    else:  # LoRA merged into a plain checkpoint: attention moved, feed-forward did not
        assert not torch.equal(before[name], after[name])
        assert torch.equal(before["decoder_layers.0.ff.up.weight"], after["decoder_layers.0.ff.up.weight"])
    n_old = before["embed.chars.weight"].shape[0]
    assert torch.equal(before["embed.chars.weight"], after["embed.chars.weight"][:n_old])  # pretrained rows fixed


def test_lora_merge_is_exact_and_growth_keeps_outputs():
    torch.manual_seed(0)
    model = PinhanModel(tiny(n_chars=40, n_syllables=30, n_initials=8, n_finals=10, d_model=32, d_ff=64, dropout=0.0)).eval()
    grown = grow_vocabulary(model, 45)
    assert grown.config.n_chars == 45
    assert torch.equal(grown.embed.chars.weight[:40], model.embed.chars.weight)
    add_lora(model, rank=4, alpha=8)
    for name, p in model.named_parameters():
        if "lora_b" in name:
            torch.nn.init.normal_(p)  # make the update non-zero
    x = torch.randn(2, 5, 32)
    block = model.encoder_layers[0].attn
    merged = merged_copy(model)
    assert torch.allclose(block.qkv(x), x @ merged.encoder_layers[0].attn.qkv.weight.t(), atol=1e-5)
