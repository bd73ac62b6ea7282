"""The geometry of the small server-side SVG charts (dashboard, Models page).

Selectors turn their numbers into these dicts and templates/_charts.html draws them: plain
inline SVG, so the pictures need no script, no library and nothing from a CDN, work with
the page's print and zoom, and can be tested by counting elements. Every mark carries its
number as a <title>, which a browser shows on hover and a screen reader reads.
"""

PALETTE = ("#2563eb", "#f59e0b", "#10b981", "#8b5cf6", "#ef4444", "#0891b2", "#db2777",
           "#65a30d")
WIDTH, HEIGHT = 560, 190
LEFT, RIGHT, TOP, BOTTOM = 44, 24, 12, 26  # room for the y labels and the x labels


def _frame(width, height) -> dict:
    return {"width": width, "height": height, "left": LEFT, "top": TOP,
            "right": width - RIGHT, "bottom": height - BOTTOM,
            "plot_w": width - LEFT - RIGHT, "plot_h": height - TOP - BOTTOM}


def _x_labels(labels: list[str], xs: list[float], most=6) -> list[dict]:
    """At most `most` labels, evenly picked and always the first and the last, so a long
    range does not print one date over the next."""
    if not labels:
        return []
    step = max(1, -(-(len(labels) - 1) // (most - 1)))
    picked = sorted(set(range(0, len(labels), step)) | {len(labels) - 1})
    if len(picked) > 1 and picked[-1] - picked[-2] < step / 2:
        picked.pop(-2)  # the last would crowd the one before it
    return [{"x": round(xs[i], 1), "text": labels[i]} for i in picked]


def bar_chart(bars: list[dict], width=WIDTH, height=HEIGHT) -> dict:
    """One bar per item of `bars` ({"label", "value", "title"}), from 0 to the largest."""
    frame = _frame(width, height)
    top = max([b["value"] for b in bars] + [1])
    band = frame["plot_w"] / max(len(bars), 1)
    drawn, centres = [], []
    for i, bar in enumerate(bars):
        h = bar["value"] * frame["plot_h"] / top
        x = frame["left"] + i * band + band * 0.1
        drawn.append({"x": round(x, 1), "y": round(frame["bottom"] - h, 1),
                      "w": round(max(band * 0.8, 1), 1), "h": round(h, 1),
                      "title": bar["title"]})
        centres.append(frame["left"] + (i + 0.5) * band)
    return {**frame, "bars": drawn, "x_labels": _x_labels([b["label"] for b in bars], centres),
            "y_labels": [{"y": frame["bottom"], "text": "0"},
                         {"y": frame["top"] + 4, "text": str(top)}]}


def line_chart(series: list[dict], x_labels: list[str], low: float, high: float, *,
               percent=False, width=WIDTH, height=HEIGHT) -> dict:
    """One polyline per series ({"name", "points": [(x index, value, title), ...]}) over
    len(x_labels) evenly spaced positions; a dot at every point, so one point still shows."""
    frame = _frame(width, height)
    n = len(x_labels)
    xs = [frame["left"] + (i * frame["plot_w"] / (n - 1) if n > 1 else frame["plot_w"] / 2)
          for i in range(n)]
    span = max(high - low, 1e-9)

    def y(value):
        return round(frame["bottom"] - (value - low) * frame["plot_h"] / span, 1)

    lines = []
    for k, s in enumerate(series):
        dots = [{"x": round(xs[i], 1), "y": y(value), "title": title}
                for i, value, title in s["points"]]
        lines.append({"name": s["name"], "colour": s.get("colour") or PALETTE[k % len(PALETTE)],
                      "dash": s.get("dash", ""), "dots": dots,
                      "points": " ".join(f"{d['x']},{d['y']}" for d in dots)})

    def text(value):
        return f"{value:.0%}" if percent else f"{value:g}"

    return {**frame, "lines": lines, "x_labels": _x_labels(x_labels, xs),
            "y_labels": [{"y": frame["bottom"], "text": text(low)},
                         {"y": frame["top"] + 4, "text": text(high)}]}
