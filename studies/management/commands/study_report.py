import json

from django.core.management.base import BaseCommand, CommandError

from studies.models import ReaderStudy
from studies.selectors import study_results


class Command(BaseCommand):
    help = "Print a reader study's reader-versus-model table (text, or one JSON object)."

    def add_arguments(self, parser):
        parser.add_argument("study", type=int, help="study id")
        parser.add_argument("--json", action="store_true")
        parser.add_argument("--measure-model", action="store_true",
                            help="time the model on the cases in this process first")

    def handle(self, *args, study, json: bool, measure_model: bool, **options):
        target = ReaderStudy.objects.filter(pk=study).first()
        if target is None:
            raise CommandError(f"no study {study}")
        if measure_model:
            if not target.model_version_id:
                raise CommandError("the study has no model version to time")
            # Imported here: the job pulls in torch, which the report alone does not need.
            from studies.jobs import time_study_model

            time_study_model(target.pk)
            target.refresh_from_db()
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
        "crossover": r["crossover"],
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
    return "\n".join(lines)
