"""Export a model to ONNX: pinhan export --model DIR --onnx OUT [--int8] [--overwrite] [--opset N]

Writes OUT/ with the encoder, the cross-attention key/value projection, one decoder step with its
key/value cache, the three heads, copies of config.json, vocab.json and lexicon.json, and the
manifest onnx.json; ``--int8`` adds dynamically quantized ``*.int8.onnx`` graphs. The graphs are
checked against the PyTorch model before the directory is renamed into place.

Load the result with ``pinhan.load(OUT, backend="onnx")`` (``--backend onnx`` on the command
line); with OUT = DIR/onnx, the model directory itself loads with the onnx backend too.
"""

from __future__ import annotations

import argparse
import time


def add_arguments(parser: argparse.ArgumentParser) -> None:
    # (no pinhan.deploy.onnx import here: building the parser must not import torch)
    parser.add_argument("--model", required=True,
                        help="model directory (config.json, model.safetensors, vocab.json, lexicon.json)")
    parser.add_argument("--onnx", required=True, metavar="OUT", help="export directory to write (e.g. DIR/onnx)")
    parser.add_argument("--int8", action="store_true", help="also write int8 dynamically quantized graphs")
    parser.add_argument("--overwrite", action="store_true", help="replace OUT if it exists")
    parser.add_argument("--opset", type=int, help="ONNX opset (default: 18)")


def run(args: argparse.Namespace) -> int:
    from pinhan.deploy.onnx.export import DEFAULT_OPSET, MANIFEST, export_onnx

    start = time.perf_counter()
    out = export_onnx(args.model, args.onnx, int8=args.int8, opset=args.opset or DEFAULT_OPSET,
                      overwrite=args.overwrite)
    size = sum(p.stat().st_size for p in out.glob("*.onnx")) / 2**20
    print(f"wrote {out} ({MANIFEST}, {len(list(out.glob('*.onnx')))} graphs, {size:.1f} MiB) "
          f"in {time.perf_counter() - start:.0f} s")
    return 0
