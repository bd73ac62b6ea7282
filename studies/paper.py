"""Paper-ready output of a reader study: tables (CSV, Markdown, LaTeX), figures (SVG, PNG),
a methods-and-results paragraph, and all of it in one zip with the raw responses.

Everything is built from ``selectors.study_results`` and ``selectors.response_rows``, the
same data as the results page, so the paper and the page cannot disagree; the figures
are drawn by studies/figures.py, which the results page shows too.
"""

from __future__ import annotations

import io
import zipfile

from annotation.exporting import csv_text

from .figures import FIGURES, draw
from .selectors import RESPONSE_COLUMNS, cached_for_study, response_rows, study_results

# --------------------------------------------------------------------------------------------
# Tables
# --------------------------------------------------------------------------------------------


def _pct(value, digits=1) -> str:
    return "–" if value is None else f"{value * 100:.{digits}f}"


def _pp(value) -> str:
    return "–" if value is None else f"{value * 100:+.1f}"


def _p(value) -> str:
    if value is None:
        return "–"
    return "<0.001" if value < 0.001 else f"{value:.3f}"


def _p_is(value) -> str:
    """P in a sentence: "P = 0.087", but "P < 0.001", never "P = <0.001"."""
    text = _p(value)
    return f"P {text[0]} {text[1:]}" if text.startswith("<") else f"P = {text}"


def _seconds(value) -> str:
    """Seconds to three significant figures or so: 391 s, 19.6 s, 0.016 s."""
    if value is None:
        return "–"
    return f"{value:.0f}" if value >= 100 else f"{value:.1f}" if value >= 1 else f"{value:.3f}"


def results_table(r: dict) -> list[list[str]]:
    """Header and one row per rater: accuracy with exact CI, sensitivity, reading time."""
    header = ["Rater", "Cases answered", "Correct / n", "Accuracy, % (95% CI)"] + [
        f"Sensitivity {code}, %" for code in r["labels"]] + [
        "Total time for all cases, s", "Median (IQR) s per case",
        "Times the model's time (same cases)"]
    rows = [header]
    for row in r["rows"]:
        acc, t = row["accuracy"], row["time"]
        name = row["name"] + (" (simulated)" if row["simulated"] else "")
        # The paper's own figure, total seconds for the test set, only for a reader who read
        # all of it; the fold is over the cases both the reader and the model have.
        total = _seconds(t["total"]) if row["is_model"] or row["finished"] else "– (not finished)"
        fold = (f"{row['fold']:.1f} (n = {row['fold_n']})" if row.get("fold") else "–")
        accuracy = (f"{_pct(acc['accuracy'])} ({_pct(acc['ci'][0])}–{_pct(acc['ci'][1])})"
                    if acc["accuracy"] is not None else "–")
        median = (f"{t['median']:.2f} ({t['q1']:.2f}–{t['q3']:.2f})"
                  if t["median"] is not None else "–")
        rows.append([name, f"{row['answered']} of {r['n_cases']}",
                     f"{acc['correct']} / {acc['n']}", accuracy] + [
            _pct((row["sensitivity"].get(str(code)) or {}).get("sensitivity"))
            for code in r["labels"]] + [total, median, fold])
    return rows


def _ci(side: dict, show) -> str:
    text = f"{show(side['ci'][0])} to {show(side['ci'][1])}"
    return text + (" (bootstrap)" if side.get("ci_method") == "bootstrap" else "")


def mrmc_table(r: dict) -> list[list[str]]:
    """The OR comparisons: difference in points, CI and P for random and for fixed readers."""
    rows = [["Figure of merit", "Comparison", "First, %", "Second, %", "Difference, points",
             "Random readers and cases: 95% CI", "P", "df", "Fixed readers: 95% CI", "P"]]
    for c in r["mrmc"]["comparisons"]:
        random, fixed = c["random"], c["fixed"]
        if c["kind"] == "readers_mean":  # a level with its CI, not a difference
            rows.append([
                c["title"], c["label"], _pct(c["means"][0]), "–", "–",
                _ci(random, _pct) if random and random["se"] else "–", "–",
                f"{random['df']:.1f}" if random and random["df"] else "–",
                _ci(fixed, _pct) if fixed["se"] else "–",
                "–"])
            continue
        rows.append([
            c["title"], c["label"], _pct(c["means"][0]), _pct(c["means"][1]),
            _pp(c["estimate"]),
            _ci(random, _pp) if random and random["p"] is not None else "–",
            _p(random["p"]) if random else "–",
            f"{random['df']:.1f}" if random and random["df"] else "–",
            _ci(fixed, _pp) if fixed["p"] is not None else "–", _p(fixed["p"]),
        ])
    return rows


def mcnemar_table(r: dict) -> list[list[str]]:
    rows = [["Comparison", "n", "Only first right", "Only second right", "P", "P (Holm)"]]
    for c in r["comparisons"]:
        rows.append([f"{c['first']} vs {c['second']}", str(c["n"]), str(c["b"]), str(c["c"]),
                     _p(c["p_value"]), _p(c["p_holm"])])
    return rows


def behaviour_table(r: dict) -> list[list[str]]:
    """Time against position per reader, and the agreement between readers with CIs."""
    rows = [["Reader(s)", "Measure", "n", "Estimate (95% CI)", "P"]]
    for t in r["trends"]:
        estimate = (f"{t['rho']:.2f} ({t['ci'][0]:.2f} to {t['ci'][1]:.2f})"
                    if t["rho"] is not None else "–")
        rows.append([t["name"], "Spearman rho, time vs position", str(t["n"]), estimate,
                     _p(t["p"])])
    for k in r["kappas"]:
        estimate = "–" if k["kappa"] is None else f"{k['kappa']:.3f}" + (
            f" ({k['ci'][0]:.3f} to {k['ci'][1]:.3f})" if k["ci"] else "")
        rows.append([f"{k['a']} – {k['b']}", "Cohen's kappa (bootstrap CI)", str(k["n"]),
                     estimate, "–"])
    return rows


def to_markdown(rows) -> str:
    def line(cells):
        return "| " + " | ".join(str(c).replace("|", "\\|") for c in cells) + " |"

    return "\n".join([line(rows[0]), line(["---"] * len(rows[0]))]
                     + [line(r) for r in rows[1:]]) + "\n"


_LATEX = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#",
          "_": r"\_", "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}",
          "^": r"\textasciicircum{}", "–": "--", "−": "$-$", "<": r"$<$", ">": r"$>$"}


def latex_escape(text: str) -> str:
    return "".join(_LATEX.get(ch, ch) for ch in str(text))


def to_latex(rows, caption: str) -> str:
    """A booktabs table; compiles with ``\\usepackage{booktabs}``."""
    columns = "l" + "r" * (len(rows[0]) - 1)
    body = [" & ".join(latex_escape(c) for c in row) + r" \\" for row in rows[1:]]
    return "\n".join([
        r"\begin{table}[ht]", r"\centering", rf"\caption{{{latex_escape(caption)}}}",
        r"\resizebox{\textwidth}{!}{%", rf"\begin{{tabular}}{{{columns}}}", r"\toprule",
        " & ".join(latex_escape(c) for c in rows[0]) + r" \\", r"\midrule", *body,
        r"\bottomrule", r"\end{tabular}}", r"\end{table}", ""])


LATEX_DOCUMENT = r"""\documentclass{article}
\usepackage[utf8]{inputenc}
\usepackage[margin=2cm,landscape]{geometry}
\usepackage{booktabs}
\usepackage{graphicx}
\begin{document}
%s
\end{document}
"""


# --------------------------------------------------------------------------------------------
# Methods and results paragraph
# --------------------------------------------------------------------------------------------


def methods_paragraph(r: dict) -> str:
    """The study's methods and main results in prose, numbers filled in, for the paper."""
    study = r["study"]
    readers = [row for row in r["rows"] if not row["is_model"]]
    model = next((row for row in r["rows"] if row["is_model"]), None)
    design = {
        "unaided": "Readers saw the report only, without the model's suggestion.",
        "aided": "Readers saw the model's suggested category and its probability.",
        "crossover": "In a crossover design each case was read with the model's suggestion "
                     "by half of the readers and without it by the other half.",
    }[study.mode]
    unfinished = r.get("incomplete") or []
    if not unfinished:
        read = (f"{len(readers)} reader{'s' if len(readers) != 1 else ''} classified "
                f"{r['n_cases']} reports")
    else:
        read = (f"The study has {r['n_cases']} reports; "
                + "; ".join(f"{row['name']} classified {row['answered']}"
                            for row in readers) + " of them")
    parts = [
        f"Reader study. {read} ({r['n_with_reference']} with a reference "
        f"label) into {len(r['labels'])} categories. {design} Readers were blinded to the "
        "reference labels and to the other readers' answers; each reader read the cases "
        "in an own random order drawn from the study's recorded seed "
        f"({study.seed}), one at a time, without going back. Reading time was the time the "
        "report was on screen with the page active, less pauses.",
    ]
    if draw := _draw_sentence(study):
        parts.append(draw)
    timing = r["model_timing"]
    version = r.get("model_version")
    if version is not None:
        source = ("its answers and times measured over the cases on "
                  f"{timing.get('hardware') or timing.get('worker') or 'a worker'}, with model "
                  "loading timed apart" if timing.get("answers") else
                  "its stored predictions on the cases")
        fixed = "" if r.get("model_chosen") else (" (the project's active version; the "
                                                  "study had not fixed one)")
        parts.append(f"The model was version v{version.number}{fixed}: {source}.")
    if unfinished:
        parts.append("NOTE: this study is not finished: " + "; ".join(
            f"{u['name']} answered {u['answered']} of {u['n']} cases" for u in unfinished)
            + ". Each figure below is over the cases it names, not over the whole study.")
    if r["simulated"]:
        parts.append("NOTE: some readers in this study are simulated; the numbers below are "
                     "a demonstration, not evidence.")
    stats = ("Accuracy is given with exact Clopper-Pearson 95% confidence intervals. Paired "
             "accuracy was compared with exact McNemar tests, with Holm's adjustment for "
             "multiple comparisons, and agreement between readers with Cohen's kappa. ")
    if r["mrmc"]["comparisons"]:
        stats += ("To generalise to readers beyond those who took part, accuracy and "
                  "per-category sensitivity were also compared with the multi-reader "
                  "multi-case method of Obuchowski and Rockette with Hillis' denominator "
                  "degrees of freedom, treating readers and cases as random, with "
                  "covariances estimated by the jackknife over cases; results for fixed "
                  "readers are also given.")
        if r["mrmc"].get("bootstrapped"):
            stats += (" Every interval is kept to what is possible: where the t or z interval "
                      "would run past 0–100% (a level) or ±100 percentage points (a "
                      "difference), a percentile bootstrap interval is given instead (2,000 "
                      "resamples of cases, and of readers for random readers, with a fixed "
                      f"seed; {r['mrmc']['bootstrapped']} interval"
                      f"{'s' if r['mrmc']['bootstrapped'] != 1 else ''} in this study, marked "
                      "in the table).")
    parts.append(stats)
    results = []
    for row in readers:
        acc = row["accuracy"]
        if acc["accuracy"] is not None:
            results.append(f"{row['name']} {_pct(acc['accuracy'])}% "
                           f"(95% CI {_pct(acc['ci'][0])}–{_pct(acc['ci'][1])})")
    if model and model["accuracy"]["accuracy"] is not None:
        acc = model["accuracy"]
        results.append(f"the model {_pct(acc['accuracy'])}% "
                       f"(95% CI {_pct(acc['ci'][0])}–{_pct(acc['ci'][1])})")
    if results:
        parts.append("Accuracy: " + "; ".join(results) + ".")
    average = next((c for c in r["mrmc"]["comparisons"]
                    if (c["fom"], c["kind"]) == ("accuracy", "readers_mean")), None)
    if average and average["random"] and average["random"]["se"]:
        parts.append(f"Reader average accuracy {_pct(average['estimate'])}% (95% CI for "
                     f"readers at large {_pct(average['random']['ci'][0])}–"
                     f"{_pct(average['random']['ci'][1])}).")
    main = next((c for c in r["mrmc"]["comparisons"]
                 if c["fom"] == "accuracy" and c["kind"] != "readers_mean"), None)
    if main:
        sentence = (f"{main['label']} in accuracy: {_pp(main['estimate'])} percentage points")
        if main["random"]:
            sentence += (f" (random readers and cases: 95% CI {_pp(main['random']['ci'][0])} "
                         f"to {_pp(main['random']['ci'][1])}, {_p_is(main['random']['p'])}")
            sentence += ")" if main["random"]["df"] is None else (
                f", df = {main['random']['df']:.1f})")
        sentence += (f"; for these readers (fixed): 95% CI {_pp(main['fixed']['ci'][0])} to "
                     f"{_pp(main['fixed']['ci'][1])}, {_p_is(main['fixed']['p'])}.")
        parts.append(sentence)
    for c in r["comparisons"]:
        parts.append(f"McNemar, {c['first']} vs {c['second']}: {_p_is(c['p_value'])} "
                     f"(Holm {_p(c['p_holm'])}, n = {c['n']}).")
    timed = [row for row in r["rows"] if row["time"]["n"]]
    if timed:
        parts.append(
            "Reading time was compared with the model's on the same cases: a reader's total "
            "over the cases they answered divided by the model's total over those cases. "
            "Total reading time: " + "; ".join(_time_sentence(row, r["n_cases"])
                                               for row in timed) + ".")
    return "\n\n".join(parts) + "\n"


def _draw_sentence(study) -> str:
    """How the cases were chosen, from the record kept on the study, or ''."""
    from .selectors import CASE_SETS

    draw = study.case_draw or {}
    if not draw or draw.get("n") is None or draw["n"] >= draw.get("from", 0):
        return ""
    source = CASE_SETS.get(draw.get("case_set"), ("the chosen reports",))[0].lower()
    dates = ""
    if draw.get("date_from") or draw.get("date_to"):
        dates = (f" with procedure dates from {draw.get('date_from') or 'the first'} to "
                 f"{draw.get('date_to') or 'the last'}")
    strata = ", ".join(f"{n} of category {code}" if code != "none" else f"{n} unlabelled"
                       for code, n in (draw.get("strata") or {}).items())
    return (f"The {draw['n']} cases were drawn at random from {source}{dates} "
            f"({draw['from']} reports), stratified by reference category ({strata}), with "
            f"seed {draw['seed']}.")


def _time_sentence(row: dict, n_cases: int) -> str:
    t = row["time"]
    if row["is_model"] or row["finished"]:
        text = f"{row['name']} {_seconds(t['total'])} s for {t['n']} cases"
    else:
        text = (f"{row['name']} (not finished) {_seconds(t['total'])} s for the {t['n']} of "
                f"{n_cases} cases read")
    if row.get("fold"):
        text += (f", {row['fold']:.1f} times the model's time on the same {row['fold_n']} "
                 f"case{'s' if row['fold_n'] != 1 else ''}")
    return text


# --------------------------------------------------------------------------------------------
# The bundle
# --------------------------------------------------------------------------------------------

TABLES = {"results": ("Accuracy and reading time per rater", results_table),
          "mrmc": ("Multi-reader multi-case comparisons (Obuchowski-Rockette, Hillis ddf)",
                   mrmc_table),
          "mcnemar": ("Exact McNemar tests", mcnemar_table),
          "behaviour": ("Reading behaviour: time against position, agreement",
                        behaviour_table)}


def _table_files(r: dict, name: str) -> dict[str, bytes]:
    caption, build = TABLES[name]
    rows = build(r)
    return {f"tables/{name}.csv": csv_text(rows).encode(),
            f"tables/{name}.md": to_markdown(rows).encode(),
            f"tables/{name}.tex": to_latex(rows, caption).encode()}


def _responses_csv(responses: list[dict]) -> bytes:
    return csv_text([RESPONSE_COLUMNS] + [[row[c] for c in RESPONSE_COLUMNS]
                                          for row in responses]).encode()


def paper_files(study, *, figures: bool = True) -> dict[str, bytes]:
    """Every paper-ready file of a study, by its path inside the zip."""
    r = study_results(study)
    responses = list(response_rows(study))
    files: dict[str, bytes] = {}
    for name in TABLES:
        files.update(_table_files(r, name))
    files["tables/all.tex"] = (LATEX_DOCUMENT % "\n".join(
        files[f"tables/{name}.tex"].decode() for name in TABLES)).encode()
    files["methods.md"] = methods_paragraph(r).encode()
    files["responses.csv"] = _responses_csv(responses)
    if figures:
        for name in FIGURES:
            for fmt, data in (draw(name, r, responses) or {}).items():
                files[f"figures/{name}.{fmt}"] = data
    return files


def paper_file(study, name: str) -> bytes | None:
    """One paper-ready file, drawn once per change of the study (the results page shows the
    paper's own figures, so a page load is two of these)."""
    return cached_for_study(study, f"paper:{name}", lambda: _paper_file(study, name))


def _paper_file(study, name: str) -> bytes | None:
    """One paper-ready file, computing only what it needs: a figure draws itself alone."""
    folder, _, leaf = name.partition("/")
    stem, _, fmt = leaf.rpartition(".")
    if folder == "figures" and stem in FIGURES and fmt in ("svg", "png"):
        responses = list(response_rows(study)) if stem == "time_by_position" else []
        r = study_results(study) if stem != "time_by_position" else {}
        return (draw(stem, r, responses, formats=(fmt,)) or {}).get(fmt)
    if name == "responses.csv":
        return _responses_csv(list(response_rows(study)))
    if folder == "tables" and stem in TABLES:
        return _table_files(study_results(study), stem).get(name)
    return paper_files(study, figures=False).get(name)  # methods.md, tables/all.tex


def paper_zip(study) -> bytes:
    return cached_for_study(study, "paper.zip", lambda: _paper_zip(study))


def _paper_zip(study) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path, data in paper_files(study).items():
            archive.writestr(f"study-{study.pk}/{path}", data)
    return buffer.getvalue()
