"""Training speed of the named model sizes: forward + backward tokens/s, full vs restricted softmax.

    python benchmarks/model_speed.py                      # tiny, small, base on this machine
    python benchmarks/model_speed.py --sizes small --device cuda --steps 20

A synthetic p2h batch (default 32 examples x (32 context + 24 target) positions) with a realistic
vocabulary (8000 hanzi, 2000 toned syllables) goes through ``model(batch)["total"].backward()``.
"full" scores every hanzi at every target step (decoder and encoder heads); "restricted" scores
only C candidates per step (``tgt_char_cands`` / ``enc_tgt_char_cands``, default C = 64).
Tokens/s counts context + target positions per second (median step time; the two softmax
variants alternate step by step). Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time

import torch

from pinhan.model import PinhanModel, ids, named_config

VOCAB = dict(n_chars=8000, n_syllables=2000, n_initials=26, n_finals=40, n_tones=ids.N_TONES)


def synthetic_batch(
    B: int, context: int, target: int, n_cands: int | None, device: torch.device, seed: int = 0
) -> dict[str, torch.Tensor]:
    """A p2h batch: context hanzi + pinyin known, target pinyin known and hanzi masked."""
    g = torch.Generator().manual_seed(seed)
    S, T = context + target, target
    chars = torch.randint(ids.FIRST_REGULAR, VOCAB["n_chars"], (B, S), generator=g)  # (B, S)
    inits = torch.randint(2, VOCAB["n_initials"], (B, S), generator=g)  # (B, S)
    finals = torch.randint(2, VOCAB["n_finals"], (B, S), generator=g)  # (B, S)
    tones = torch.randint(2, VOCAB["n_tones"], (B, S), generator=g)  # (B, S)
    segments = torch.full((B, S), ids.SEG_CONTEXT)
    segments[:, context:] = ids.SEG_TARGET
    enc_chars = chars.clone()
    enc_chars[:, context:] = ids.MASK
    gold = chars[:, context:]  # (B, T)
    shift = lambda x, first: torch.cat([torch.full((B, 1), first), x[:, context:-1]], 1)  # noqa: E731
    batch = {
        "enc_chars": enc_chars, "enc_initials": inits, "enc_finals": finals, "enc_tones": tones,
        "enc_segments": segments, "task": torch.full((B,), ids.TASK_P2H),
        "dec_chars": shift(chars, ids.BOS), "dec_initials": shift(inits, ids.NONE),
        "dec_finals": shift(finals, ids.NONE), "dec_tones": shift(tones, ids.NONE),
        "tgt_chars": gold,
        "tgt_syllables": torch.randint(5, VOCAB["n_syllables"], (B, T), generator=g),
        "enc_tgt_chars": torch.cat([torch.full((B, context), ids.IGNORE), gold], 1),
    }  # fmt: skip
    if n_cands:
        cands = torch.randint(ids.FIRST_REGULAR, VOCAB["n_chars"], (B, T, n_cands), generator=g)
        cands[..., 0] = gold  # (B, T, C): gold first; position does not matter to the loss
        batch["tgt_char_cands"] = cands
        enc_cands = torch.full((B, S, n_cands), -1)
        enc_cands[:, context:] = cands  # (B, S, C)
        batch["enc_tgt_char_cands"] = enc_cands
    return {k: v.to(device) for k, v in batch.items()}


def time_steps(
    model: PinhanModel, batches: list[dict], steps: int, min_seconds: float
) -> list[float]:
    """Median seconds per forward + backward step of each batch.

    The batches take turns, one step each, after a warm-up step each, so that a slow spell
    of a shared machine hits every variant alike; the median ignores the odd stalled step.
    """
    sync = torch.cuda.synchronize if batches[0]["task"].is_cuda else (lambda: None)

    def step(batch: dict) -> float:
        sync()
        start = time.perf_counter()
        model.zero_grad(set_to_none=True)
        model(batch)["total"].backward()
        sync()
        return time.perf_counter() - start

    for batch in batches:
        step(batch)
    times: list[list[float]] = [[] for _ in batches]
    begin = time.perf_counter()
    while len(times[0]) < steps or (
        time.perf_counter() - begin < min_seconds * len(batches) and len(times[0]) < 10 * steps
    ):
        for batch, row in zip(batches, times, strict=True):
            row.append(step(batch))
    return [statistics.median(row) for row in times]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", default=["tiny", "small", "base"])
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--context", type=int, default=32)
    parser.add_argument("--target", type=int, default=24)
    parser.add_argument("--cands", type=int, default=64)
    parser.add_argument("--steps", type=int, default=5, help="timed steps per row (at least)")
    parser.add_argument(
        "--min-seconds", type=float, default=4.0, help="time each row at least this long"
    )
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    tokens = args.batch * (args.context + args.target)

    print(
        f"torch {torch.__version__}, {device}, {torch.get_num_threads()} threads, "
        f"{platform.processor() or platform.machine()}; batch {args.batch} x "
        f"({args.context} context + {args.target} target), n_chars {VOCAB['n_chars']}, "
        f"n_syllables {VOCAB['n_syllables']}, C = {args.cands}\n"
    )
    print("| size | params | softmax | ms/step | tokens/s | target tokens/s |")
    print("|---|---:|---|---:|---:|---:|")
    for size in args.sizes:
        torch.manual_seed(0)
        model = PinhanModel(named_config(size, **VOCAB)).to(device).train()
        variants = [("full", None), (f"restricted C={args.cands}", args.cands)]
        batches = [
            synthetic_batch(args.batch, args.context, args.target, c, device) for _, c in variants
        ]
        seconds = time_steps(model, batches, args.steps, args.min_seconds)
        for (label, _), sec in zip(variants, seconds, strict=True):
            print(
                f"| {size} | {model.num_parameters() / 1e6:.2f}M | {label} | {sec * 1e3:.0f} "
                f"| {tokens / sec:,.0f} | {args.batch * args.target / sec:,.0f} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
