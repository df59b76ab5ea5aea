"""Evaluation reports: Markdown with the figures, accuracy by clause length, the most frequent
confusions and the worst errors, plus PNG plots of the first two (matplotlib, no display)."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from rapidfuzz.distance import Levenshtein

from pinhan.eval.run import EvalResult

CJK_FONTS = ("Noto Sans CJK SC", "Noto Sans CJK JP", "WenQuanYi Zen Hei", "AR PL UMing CN", "SimHei")
CJK_FONT_FILES = ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc")
SCALAR_ORDER = ("char_acc", "sentence_acc", "top1_acc", "top5_acc", "top10_acc", "bleu", "rouge_1", "rouge_2", "rouge_l",
                "syllable_acc", "syllable_acc_toneless", "clause_exact", "polyphone_acc", "perplexity",
                "next_char_top1", "next_char_top5")


def summary_line(result: EvalResult) -> str:
    """One line of a result's headline figures (what ``pinhan eval`` prints per set)."""
    f = result.figures
    parts = [f"{result.set} [{result.task}] n={result.n}"]
    for key in ("char_acc", "sentence_acc", "top5_acc", "syllable_acc", "syllable_acc_toneless", "clause_exact",
                "polyphone_acc", "next_char_top1", "next_char_top5"):
        if key in f:
            parts.append(f"{key} {100 * f[key]:.2f}%")
    for key in ("bleu", "perplexity"):
        if key in f:
            parts.append(f"{key} {f[key]:.2f}")
    if "latency_ms" in f:
        parts.append(f"latency p50 {f['latency_ms']['p50']:.1f} ms p95 {f['latency_ms']['p95']:.1f} ms")
    return "  ".join(parts)


def write_figures(results: list[EvalResult], path: Path, settings: dict | None = None) -> None:
    """The results' figures as a JSON list (one object per set and task), replaced in one step;
    ``settings``: the decoding settings changed from the defaults, kept with each object (when any)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    figures = [r.summary() | ({"settings": settings} if settings else {}) for r in results]
    tmp.write_text(json.dumps(figures, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    tmp.replace(path)


def confusions(rows: list[dict], limit: int = 20) -> list[tuple[str, str, int]]:
    """Most frequent (gold, predicted) character substitutions, from the edit alignment."""
    counts: Counter = Counter()
    for row in rows:
        gold, pred = row.get("gold", ""), row.get("pred", "")
        if not isinstance(pred, str) or gold == pred or " " in gold:
            continue
        for op in Levenshtein.editops(pred, gold):
            if op.tag == "replace":
                counts[(gold[op.dest_pos], pred[op.src_pos])] += 1
    return [(g, p, n) for (g, p), n in counts.most_common(limit)]


def worst(rows: list[dict], limit: int = 20) -> list[dict]:
    """Items with the largest edit distance between prediction and gold (relative to length)."""
    scored = [(Levenshtein.distance(str(r.get("pred", "")), str(r["gold"])) / max(1, len(str(r["gold"]))), i)
              for i, r in enumerate(rows) if str(r.get("pred", "")) != str(r["gold"])]
    return [rows[i] for _, i in sorted(scored, key=lambda x: (-x[0], x[1]))[:limit]]


def write_report(results: list[EvalResult], out: Path, title: str) -> Path:
    """Write ``report.md`` and its plots into ``out``; returns the Markdown path."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out.mkdir(parents=True, exist_ok=True)
    lines = [f"# {title}", ""]
    for result in results:
        f = result.figures
        lines += [f"## {result.set} ({result.task}, {result.n} items)", "", "| metric | value |", "|---|---:|"]
        for key in SCALAR_ORDER:
            if key in f:
                value = f[key]
                shown = f"{value:.2f}" if key in ("bleu", "perplexity") else f"{100 * value:.2f} %"
                lines.append(f"| {key} | {shown} |")
        if "latency_ms" in f:
            lines.append(f"| latency p50 / p95 | {f['latency_ms']['p50']:.1f} / {f['latency_ms']['p95']:.1f} ms |")
        lines.append("")
        stem = f"{result.set}-{result.task}"
        if "by_length" in f:
            lines += ["| clause length | n | char acc | sentence acc |", "|---|---:|---:|---:|"]
            buckets = f["by_length"]
            for name, b in buckets.items():
                lines.append(f"| {name} | {b['n']} | {100 * b['char_accuracy']:.1f} % | {100 * b['sentence_accuracy']:.1f} % |")
            fig, ax = plt.subplots(figsize=(5, 3))
            names = list(buckets)
            ax.bar([i - 0.2 for i in range(len(names))], [100 * buckets[n]["char_accuracy"] for n in names], 0.4, label="char")
            ax.bar([i + 0.2 for i in range(len(names))], [100 * buckets[n]["sentence_accuracy"] for n in names], 0.4, label="sentence")
            ax.set_xticks(range(len(names)), names)
            ax.set_xlabel("clause length (hanzi)")
            ax.set_ylabel("accuracy %")
            ax.set_ylim(0, 100)
            ax.legend()
            ax.set_title(f"{result.set}: accuracy by length")
            lines += _save(plt, fig, out / f"{stem}-by-length.png", "accuracy by length")
        pairs = confusions(result.rows)
        if pairs:
            lines += ["Most frequent confusions (gold → predicted):", "", "| gold | predicted | count |", "|---|---|---:|"]
            lines += [f"| {g} | {p} | {n} |" for g, p, n in pairs]
            fig, ax = plt.subplots(figsize=(5, 0.25 * len(pairs) + 1))
            ax.barh(range(len(pairs)), [n for _, _, n in pairs])
            has_cjk = _cjk_font(plt)
            ax.set_yticks(range(len(pairs)), [f"{_label(g, has_cjk)}>{_label(p, has_cjk)}" for g, p, _ in pairs])
            ax.invert_yaxis()
            ax.set_xlabel("count")
            ax.set_title(f"{result.set}: confusions (gold>predicted)")
            lines += _save(plt, fig, out / f"{stem}-confusions.png", "confusions")
        bad = worst(result.rows)
        if bad:
            lines += ["Worst errors:", "", "| id | input | gold | predicted |", "|---|---|---|---|"]
            lines += [f"| {r.get('id', '')} | {r.get('input', '')} | {r['gold']} | {r.get('pred', '')} |" for r in bad]
            lines.append("")
        if "samples" in f:
            lines += ["Samples:", "", "| prefix | gold | sample |", "|---|---|---|"]
            lines += [f"| {s['prefix']} | {s['gold']} | {s['sample']} |" for s in f["samples"]]
            lines.append("")
    path = out / "report.md"
    tmp = path.with_suffix(".md.tmp")
    tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")
    tmp.replace(path)
    return path


def _save(plt, fig, path: Path, alt: str) -> list[str]:
    """Write a figure as PNG beside the report; the Markdown lines that show it."""
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return ["", f"![{alt}]({path.name})", ""]


def _cjk_font(plt) -> bool:
    """Use a font with CJK glyphs when the machine has one (labels are hanzi); False if none."""
    from matplotlib import font_manager

    names = {f.name for f in font_manager.fontManager.ttflist}
    if not names & set(CJK_FONTS):  # installed after matplotlib cached its font list (Debian's fonts-noto-cjk)
        for path in CJK_FONT_FILES:
            if Path(path).is_file():
                font_manager.fontManager.addfont(path)
        names = {f.name for f in font_manager.fontManager.ttflist}
    for name in CJK_FONTS:
        if name in names:
            plt.rcParams["font.sans-serif"] = [name] + plt.rcParams["font.sans-serif"]
            return True
    return False


def _label(ch: str, has_cjk: bool) -> str:
    """A character as a plot label: itself with a CJK font, else its code point (the Markdown
    table beside the plot shows the characters)."""
    return ch if has_cjk or ord(ch) < 0x2E80 else f"U+{ord(ch):04X}"
