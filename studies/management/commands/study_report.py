import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from studies.models import ReaderStudy
from studies.paper import paper_files, paper_zip
from studies.selectors import active_version, study_results
from studies.services import study_model_set


class Command(BaseCommand):
    help = "Print a reader study's reader-versus-model table (text, or one JSON object)."

    def add_arguments(self, parser):
        parser.add_argument("study", type=int, help="study id")
        parser.add_argument("--json", action="store_true")
        parser.add_argument("--measure-model", action="store_true",
                            help="time the model on the cases in this process first")
        parser.add_argument("--paper", metavar="DIR",
                            help="also write the paper-ready tables, figures and methods "
                                 "paragraph into DIR")
        parser.add_argument("--zip", metavar="FILE", dest="zip_path",
                            help="also write all paper-ready files and the responses as a zip")

    def handle(self, *args, study, json: bool, measure_model: bool, paper=None, zip_path=None,
               **options):
        target = ReaderStudy.objects.filter(pk=study).first()
        if target is None:
            raise CommandError(f"no study {study}")
        if measure_model:
            if not target.model_version_id:
                # As the results page does: time the active version, fixing it for the study.
                active = active_version(target.project_id)
                if active is None:
                    raise CommandError("the study has no model version to time and the "
                                       "project no active one")
                study_model_set(study=target, model_version_id=active.pk)
            # Imported here: the job pulls in torch, which the report alone does not need.
            from studies.jobs import time_study_model

            time_study_model(target.pk)
            target.refresh_from_db()
        if paper:
            folder = Path(paper)
            for name, data in paper_files(target).items():
                (folder / name).parent.mkdir(parents=True, exist_ok=True)
                (folder / name).write_bytes(data)
            self.stderr.write(f"Paper-ready files written to {folder}")
        if zip_path:
            Path(zip_path).write_bytes(paper_zip(target))
            self.stderr.write(f"Zip written to {zip_path}")
        results = study_results(target)
        if json:
            self.stdout.write(_json(results))
        else:
            self.stdout.write(_text(results))


def _json(r) -> str:
    out = {
        "study": {"id": r["study"].pk, "name": r["study"].name, "mode": r["study"].mode,
                  "cases": r["n_cases"], "with_reference": r["n_with_reference"]},
        "simulated": r["simulated"], "model_source": r["model_source"],
        "model_timing": {k: r["model_timing"].get(k) for k in ("load_s", "total_s", "n")},
        "rows": [{k: row[k] for k in ("name", "is_model", "simulated", "accuracy",
                                       "sensitivity", "time", "fold", "confusion", "pauses")}
                 for row in r["rows"]],
        "comparisons": r["comparisons"], "reader_kappas": r["kappas"],
        "crossover": r["crossover"], "mrmc": r["mrmc"],
    }
    return json.dumps(out, default=str)


def _text(r) -> str:
    lines = [f"{r['study'].name} ({r['study'].mode}): {r['n_cases']} cases, "
             f"{r['n_with_reference']} with a reference label"]
    if r["simulated"]:
        lines.append("NOTE: includes simulated readers")
    lines.append(f"{'':<24}{'correct/n':>11}  {'accuracy (95% CI)':<24}{'total s':>9}"
                 f"{'mean±SD s':>15}{'median (IQR) s':>22}{'x model':>9}")
    for row in r["rows"]:
        acc, t = row["accuracy"], row["time"]
        accuracy = (f"{acc['accuracy']:.3f} ({acc['ci'][0]:.3f}-{acc['ci'][1]:.3f})"
                    if acc["accuracy"] is not None else "-")
        mean = f"{t['mean']:.2f}±{t['sd']:.2f}" if t["mean"] is not None and t["sd"] else "-"
        median = (f"{t['median']:.2f} ({t['q1']:.2f}-{t['q3']:.2f})"
                  if t["median"] is not None else "-")
        fold = f"{row['fold']:.1f}" if row.get("fold") else "-"
        lines.append(f"{row['name'][:23]:<24}{acc['correct']:>5}/{acc['n']:<5}  {accuracy:<24}"
                     f"{t['total']:>9.1f}{mean:>15}{median:>22}{fold:>9}")
    paused = [f"{row['name']} {p['count']} on {p['cases']} case(s), {p['seconds']:.0f} s"
              for row in r["rows"] if (p := row.get("pauses"))]
    if paused:
        lines.append("Pauses (not reading time): " + "; ".join(paused))
    lines.append("McNemar exact (Holm-adjusted):")
    for c in r["comparisons"]:
        lines.append(f"  {c['first']} vs {c['second']}: n={c['n']} discordant {c['b']}/{c['c']} "
                     f"P={c['p_value']:.4f} P_holm={c['p_holm']:.4f}")
    for k in r["kappas"]:
        kappa = f"{k['kappa']:.3f}" if k["kappa"] is not None else "-"
        lines.append(f"Cohen's kappa {k['a']} - {k['b']}: {kappa} (n={k['n']})")
    lines += _mrmc_text(r["mrmc"])
    return "\n".join(lines)


def _mrmc_text(m) -> list[str]:
    if not m["comparisons"]:
        return []
    lines = [f"MRMC, Obuchowski-Rockette with Hillis ddf ({len(m['readers'])} readers, "
             f"{m['n_cases']} cases; differences in percentage points):"]
    for c in m["comparisons"]:
        if c["kind"] == "readers_mean":
            line = f"  {c['title']}, {c['label']}: {c['estimate'] * 100:.1f}%"
            for key, name in (("random", "random readers"), ("fixed", "fixed readers")):
                t = c[key]
                if t is not None and t["se"]:
                    line += (f"; {name}: 95% CI {t['ci'][0] * 100:.1f} to "
                             f"{t['ci'][1] * 100:.1f}%")
            lines.append(line)
            continue
        first, second = (f"{v * 100:.1f}%" for v in c["means"])
        line = f"  {c['title']}, {c['label']}: {first} vs {second}, {c['estimate'] * 100:+.1f}"
        for key, name in (("random", "random readers"), ("fixed", "fixed readers")):
            t = c[key]
            if t is None:
                line += f"; {name}: needs two or more readers"
                continue
            p = "-" if t["p"] is None else f"{t['p']:.4f}"
            df = f", df={t['df']:.1f}" if t.get("df") else ""
            line += (f"; {name}: 95% CI {t['ci'][0] * 100:+.1f} to {t['ci'][1] * 100:+.1f}, "
                     f"P={p}{df}")
        lines.append(line)
    return lines
