"""Run metrics: ``metrics.csv`` (always), TensorBoard events (``tb/``), and ``curves.png``."""

from __future__ import annotations

import csv
from pathlib import Path

COLUMNS = ("step", "tokens", "elapsed_s", "lr", "loss_total", "loss_main", "loss_cross", "loss_nar", "tokens_per_s",
           "dev_loss_total", "dev_loss_main", "dev_char_acc", "dev_sentence_acc", "dev_nar_char_acc")


class MetricsLog:
    """Appends rows to ``metrics.csv``; on resume, rows past the resumed step are dropped first
    so that the file reads as one uninterrupted run."""

    def __init__(self, out_dir: Path, resume_step: int | None = None, tensorboard: bool = True) -> None:
        self.path = out_dir / "metrics.csv"
        self.out_dir = out_dir
        rows = []
        if resume_step is not None and self.path.exists():
            with open(self.path, newline="", encoding="utf-8") as fh:
                rows = [r for r in csv.DictReader(fh) if int(r["step"]) <= resume_step]
        with open(self.path, "w", newline="", encoding="utf-8") as fh:
            writer = csv.DictWriter(fh, fieldnames=COLUMNS)
            writer.writeheader()
            writer.writerows(rows)
        self.rows = rows
        self.tb = None
        if tensorboard:
            try:
                from torch.utils.tensorboard import SummaryWriter

                self.tb = SummaryWriter(str(out_dir / "tb"), purge_step=resume_step)
            except ImportError:  # tensorboard is a dependency, but a stripped install still trains
                self.tb = None

    def write(self, row: dict) -> None:
        clean = {k: ("" if row.get(k) is None else row.get(k)) for k in COLUMNS}
        with open(self.path, "a", newline="", encoding="utf-8") as fh:
            csv.DictWriter(fh, fieldnames=COLUMNS).writerow(clean)
        self.rows.append(clean)
        if self.tb is not None:
            for key, value in row.items():
                if key not in ("step",) and isinstance(value, (int, float)):
                    self.tb.add_scalar(key, value, row["step"])
            self.tb.flush()

    def plot(self) -> Path | None:
        """Loss and dev accuracy against steps, as ``curves.png``."""
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        def series(key):
            points = [(int(r["step"]), float(r[key])) for r in self.rows if r.get(key) not in ("", None)]
            return [p[0] for p in points], [p[1] for p in points]

        fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(11, 4))
        for key, label, marker in (("loss_total", "train loss", None), ("dev_loss_total", "dev loss", "o")):
            xs, ys = series(key)
            if xs:
                ax_loss.plot(xs, ys, label=label, marker=marker)
        for key, label in (("dev_char_acc", "dev char acc (greedy)"), ("dev_nar_char_acc", "dev char acc (encoder head)"),
                           ("dev_sentence_acc", "dev sentence acc")):
            xs, ys = series(key)
            if xs:
                ax_acc.plot(xs, ys, marker="o", label=label)
        for ax, label in ((ax_loss, "loss"), (ax_acc, "accuracy")):
            ax.set_xlabel("step")
            ax.set_ylabel(label)
            if ax.get_legend_handles_labels()[0]:  # no dev accuracy yet: no legend
                ax.legend()
        fig.tight_layout()
        path = self.out_dir / "curves.png"
        fig.savefig(path, dpi=90)
        plt.close(fig)
        return path

    def close(self) -> None:
        if self.tb is not None:
            self.tb.close()
