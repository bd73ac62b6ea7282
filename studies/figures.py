"""The reader study's figures: one engine (matplotlib) for the paper's files and for the
results page, which shows these very SVGs, so the two can never disagree.

Every axis has tick numbers and a label, and the figure is saved tight to its contents,
so nothing is cut off. matplotlib is imported only when a figure is drawn, with the Agg
backend (no display on a server); SVG text stays text (searchable, read by screen readers).
"""

from __future__ import annotations

import io
import math
from collections import defaultdict

MODEL_COLOUR, READER_COLOUR = "#2563eb", "#f59e0b"
# Above this spread of reading times (the model's milliseconds beside the readers'
# seconds) the time axis is logarithmic; below it a log axis may show no tick at all.
LOG_SPREAD = 20


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")  # no display on a server or a worker
    matplotlib.rcParams["svg.fonttype"] = "none"
    matplotlib.rcParams["svg.hashsalt"] = "ctir"  # the same SVG bytes from run to run
    from matplotlib import pyplot

    return pyplot


def _save(fig, formats=("svg", "png")) -> dict[str, bytes]:
    out = {}
    for fmt in formats:
        buffer = io.BytesIO()
        # A fixed date keeps the SVG byte-identical from run to run.
        metadata = {"Date": None} if fmt == "svg" else {}
        fig.savefig(buffer, format=fmt, dpi=200, bbox_inches="tight", pad_inches=0.08,
                    metadata=metadata)
        out[fmt] = buffer.getvalue()
    _pyplot().close(fig)
    return out


def accuracy(r: dict, responses=None):
    rows = [row for row in r["rows"] if row["accuracy"]["n"]]
    if not rows:
        return None
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 0.9 + 0.45 * len(rows)))
    for i, row in enumerate(reversed(rows)):
        acc = row["accuracy"]
        colour = MODEL_COLOUR if row["is_model"] else READER_COLOUR
        ax.errorbar(acc["accuracy"] * 100, i, xerr=[[(acc["accuracy"] - acc["ci"][0]) * 100],
                                                    [(acc["ci"][1] - acc["accuracy"]) * 100]],
                    fmt="o", color=colour, ecolor="#64748b", capsize=3)
    ax.set_yticks(range(len(rows)), [_name(row) for row in reversed(rows)])
    ax.set_ylim(-0.6, len(rows) - 0.4)
    ax.set_xlabel("Accuracy, % (exact 95% CI)")
    ax.set_xlim(min([row["accuracy"]["ci"][0] * 100 for row in rows] + [80]) - 1, 101)
    ax.grid(axis="x", alpha=0.3)
    return fig


def time_per_case(r: dict, responses=None):
    rows = [row for row in r["rows"] if row["seconds_per_case"]]
    if not rows:
        return None
    plt = _pyplot()
    from matplotlib.ticker import FuncFormatter, LogLocator, MaxNLocator, NullFormatter

    fig, ax = plt.subplots(figsize=(6, 0.9 + 0.5 * len(rows)))
    ax.boxplot([row["seconds_per_case"] for row in reversed(rows)], orientation="horizontal",
               tick_labels=[_name(row) for row in reversed(rows)], showfliers=True)
    values = [s for row in rows for s in row["seconds_per_case"] if s > 0]
    low, high = (min(values), max(values)) if values else (0.0, 1.0)
    if values and high / low > LOG_SPREAD:
        # The model's milliseconds and the readers' seconds on one axis: ticks at 1, 2 and 5
        # of every decade, so even a narrow range shows numbers.
        ax.set_xscale("log")
        ax.set_xlim(low / 1.6, high * 1.6)
        # 1, 2 and 5 of each decade over a short span; the decades alone over a long one,
        # where 1-2-5 labels would run into each other.
        decades = math.log10(high * 1.6) - math.log10(low / 1.6)
        subs = (1.0, 2.0, 5.0) if decades <= 2.5 else (1.0,)
        ax.xaxis.set_major_locator(LogLocator(base=10, subs=subs, numticks=12))
        ax.xaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.set_xlabel("Reading time per case, s (log scale)")
    else:
        ax.set_xlim(0, high * 1.08 if high > 0 else 1)
        ax.xaxis.set_major_locator(MaxNLocator(nbins=6))
        ax.set_xlabel("Reading time per case, s")
    ax.grid(axis="x", alpha=0.3)
    return fig


def confusion(r: dict, responses=None):
    rows = [row for row in r["rows"] if row["confusion"]]
    if not rows:
        return None
    plt = _pyplot()
    columns = min(len(rows), 3)
    lines = (len(rows) + columns - 1) // columns
    fig, axes = plt.subplots(lines, columns, figsize=(3.2 * columns, 3 * lines), squeeze=False)
    labels = [str(code) for code in r["labels"]]
    for ax, row in zip(axes.ravel(), rows, strict=False):
        cells = [line["cells"] for line in row["confusion"]]
        ax.imshow(cells, cmap="Blues")
        for i, line in enumerate(cells):
            for j, n in enumerate(line):
                ax.text(j, i, str(n), ha="center", va="center",
                        color="white" if n > max(map(max, cells)) / 2 else "black")
        ax.set_xticks(range(len(labels)), labels)
        ax.set_yticks(range(len(labels)), labels)
        ax.set_title(_name(row), fontsize=10)
        ax.set_xlabel("Answer (category)")
        ax.set_ylabel("Reference (category)")
    for ax in axes.ravel()[len(rows):]:
        ax.axis("off")
    fig.tight_layout()
    return fig


def time_by_position(r: dict, responses: list[dict]):
    by_reader = defaultdict(list)
    for row in responses:
        by_reader[row["reader"]].append((row["position"], row["seconds"]))
    if not by_reader:
        return None
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.5, 3.5))
    for name, points in sorted(by_reader.items()):
        points.sort()
        ax.plot([p for p, _ in points], [s for _, s in points], marker=".", linewidth=0.8,
                label=name)
    ax.set_xlabel("Position in the reader's order")
    ax.set_ylabel("Reading time, s")
    ax.set_ylim(bottom=0)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return fig


def _name(row: dict) -> str:
    if row["is_model"] or row.get("finished", True):
        return row["name"]
    return f"{row['name']} ({row['answered']} read)"


FIGURES = {"accuracy": accuracy, "time_per_case": time_per_case, "confusion": confusion,
           "time_by_position": time_by_position}


def draw(name: str, r: dict, responses: list[dict], formats=("svg", "png")
         ) -> dict[str, bytes] | None:
    """The figure `name` in each format, or None when there is nothing to draw yet."""
    fig = FIGURES[name](r, responses)
    return None if fig is None else _save(fig, formats)


def visible_ticks(axis) -> list[str]:
    """The tick labels an axis shows inside its limits (for the tests: every axis has
    numbers)."""
    low, high = sorted(axis.get_view_interval())
    formatter = axis.get_major_formatter()
    locs = [t for t in axis.get_majorticklocs() if low <= t <= high and math.isfinite(t)]
    return [text for text in formatter.format_ticks(locs) if text]
