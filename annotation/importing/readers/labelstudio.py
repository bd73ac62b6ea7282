"""Label Studio's JSON export: an array of tasks, each its `data` (the fields it was imported
with: text, and maybe accession, patient_id, procedure_date, split), its `annotations` and
the model's `predictions`. The label is the choice of the latest annotation that was not
cancelled (skipped); predictions are not labels and are not read. Also its JSON-MIN export:
one flat object per annotation, the task's fields and the choice under the control's name.

Content decides: a .json file whose top level is an array of objects with `data` (or the
JSON-MIN keys) is read here. A problem is placed by the task's place in the array and names
its id: "task 3, column data.procedure_date: task 3 (id 57): ...".
"""

import json
from pathlib import Path

from ..checks import RowError
from ..formats import ImportFormatError, TextReader, register
from .tasks import (
    CATEGORY_NAMES,
    Tally,
    Task,
    fields_mapping,
    first_array_item,
    one_label,
    task_rows,
)

# What JSON-MIN adds to a task's fields (label_studio_sdk's converter): not the task's own.
MIN_KEYS = frozenset(("id", "annotator", "annotation_id", "created_at", "updated_at",
                      "lead_time", "agreement", "history", "was_cancelled"))


@register
class LabelStudioReader(TextReader):
    name = "labelstudio"
    suffixes = (".label-studio.json",)  # the name ctir's own Label Studio export has
    sniffed = (".json", ".jsonl")  # .jsonl: an upload is staged under JSON Lines' suffix
    described = ".json (Label Studio export)"
    unit = "task"

    @classmethod
    def claims(cls, path: Path) -> bool:
        first = first_array_item(path)
        return isinstance(first, dict) and (isinstance(first.get("data"), dict)
                                            or "annotation_id" in first)

    def read(self, handle, date_source: str | None = None):
        try:
            tasks = json.load(handle)
        except json.JSONDecodeError as exc:
            # Placed by the line in the message: the file's problems are placed by task.
            raise ImportFormatError(f"not valid JSON (line {exc.lineno}, column {exc.colno}: "
                                    f"{exc.msg})") from None
        except (ValueError, RecursionError) as exc:
            raise ImportFormatError(f"not valid JSON ({type(exc).__name__})") from None
        if not isinstance(tasks, list):
            raise ImportFormatError("a Label Studio export is a JSON array of tasks")
        minimal = bool(tasks) and all(isinstance(t, dict) and "annotation_id" in t
                                      and not isinstance(t.get("data"), dict) for t in tasks)
        if minimal:
            control = _min_control(tasks)
            kept = _latest_per_task(tasks)
            yield from task_rows(lambda: (_min_task(n, tasks[n - 1], control) for n in kept),
                                 kind="Label Studio JSON-MIN export", unit="task",
                                 date_field="procedure_date",
                                 said_of_labels=_said_of_min(control, len(tasks) - len(kept)))
        else:
            yield from task_rows(lambda: (_task(n, t) for n, t in enumerate(tasks, start=1)),
                                 kind="Label Studio export", unit="task",
                                 date_field="data.procedure_date", said_of_labels=_said)

    def estimate_rows(self, path: Path) -> int:
        tasks = 0
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                tasks += block.count(b'"data"') or block.count(b'"annotation_id"')
        return max(tasks, 1)


def _said(tally: Tally) -> str:
    return ("the choice of each task's latest annotation that was not cancelled; the others "
            "import without a label. Predictions are not imported.")


def _said_of_min(control: str | None, superseded: int):
    def said(tally: Tally) -> str:
        where = (f"the choice under {control!r}" if control else
                 "none: no field holds a choice (name the category control 'category' in "
                 "the labeling config, or export as JSON)")
        older = (f" {superseded} earlier annotation{'s' if superseded != 1 else ''} of the "
                 "same tasks left out: the latest counts." if superseded else "")
        return f"{where}.{older}"
    return said


# --- the JSON export --------------------------------------------------------------------------

def _task(number: int, raw) -> Task | RowError:
    if not isinstance(raw, dict):
        return RowError(number, "", "each task must be a JSON object")
    name = _name(number, raw.get("id"))
    data = raw.get("data")
    if not isinstance(data, dict):
        return RowError(number, "data", f"{name}: no data object (the task's fields)")
    meta = raw.get("meta") if isinstance(raw.get("meta"), dict) else {}
    label, problems = _label(number, name, raw)
    return Task(number, name, raw.get("id"), (("data.", data), ("meta.", meta)), label,
                problems, text_field="data.text")


def _name(number: int, id_) -> str:
    return f"task {number}" + (f" (id {id_})" if isinstance(id_, str | int) else "")


def _label(number: int, name: str, task: dict) -> tuple[object, list[RowError]]:
    """The choice of the latest annotation that was not cancelled: by updated_at (else
    created_at), the later in the list where they tie."""
    key = "annotations" if "annotations" in task else "completions"  # before Label Studio 1.0
    annotations = task.get(key)
    if annotations is None:
        return None, []
    if not isinstance(annotations, list):
        return None, [RowError(number, key, f"{name}: {key} is not a list")]
    kept = [(i, a) for i, a in enumerate(annotations) if isinstance(a, dict)
            and not (a.get("was_cancelled") or a.get("skipped"))]
    if not kept:
        return None, []
    index, latest = max(kept, key=lambda pair: (
        str(pair[1].get("updated_at") or pair[1].get("created_at") or ""), pair[0]))
    where = f"{key}[{index}].result"
    result = latest.get("result") or []
    if not isinstance(result, list):
        return None, [RowError(number, where, f"{name}: the annotation's result is not a list")]
    by_control: dict[str, list] = {}
    for item in result:
        value = item.get("value") if isinstance(item, dict) else None
        if isinstance(value, dict) and isinstance(value.get("choices"), list):
            by_control.setdefault(str(item.get("from_name") or ""), []).extend(value["choices"])
    control = _category_control(list(by_control))
    if control is None:
        return None, [RowError(number, where, (
            f"{name}: choices of several controls ({', '.join(map(repr, by_control))}); name "
            "the category's control 'category' in the labeling config"))]
    return one_label(by_control.get(control, []), where, number, f"{name}: ")


def _category_control(controls: list[str]) -> str | None:
    """The control that holds the category: the only one, or the one named as a category
    is; None where that cannot be told."""
    if len(controls) <= 1:
        return controls[0] if controls else ""
    named = [c for c in controls if c.lower() in CATEGORY_NAMES]
    return named[0] if len(named) == 1 else None


# --- JSON-MIN ---------------------------------------------------------------------------------

def _min_control(records: list[dict]) -> str | None:
    """The field that holds the choice: the task's own fields are the same in every record of
    a task, the control's is what JSON-MIN adds. A multiple choice is {"choices": [...]}; a
    single one a plain string, which only its name, or being the only other field, tells."""
    fields = {k for r in records for k in r if k not in MIN_KEYS}
    dicts = [k for k in fields if any(isinstance(r.get(k), dict) and "choices" in r[k]
                                      for r in records)]
    if len(dicts) == 1:
        return dicts[0]
    mapping = fields_mapping(tuple(sorted(fields)))
    own = {c for name, columns in mapping.columns.items() if name != "label" for c in columns}
    candidates = sorted(fields - own)
    if len(candidates) == 1:
        return candidates[0]
    named = [c for c in candidates if c.lower() in CATEGORY_NAMES]
    return named[0] if len(named) == 1 else None


def _latest_per_task(records: list) -> list[int]:
    """The number (from 1) of each task's latest record: JSON-MIN writes one per annotation."""
    latest: dict[object, tuple[str, int]] = {}
    alone = []
    for number, record in enumerate(records, start=1):
        id_ = record.get("id")
        if not isinstance(id_, str | int):
            alone.append(number)
            continue
        when = str(record.get("updated_at") or record.get("created_at") or "")
        if id_ not in latest or (when, number) >= latest[id_]:
            latest[id_] = (when, number)
    return sorted(alone + [number for _, number in latest.values()])


def _min_task(number: int, record: dict, control: str | None) -> Task:
    name = _name(number, record.get("id"))
    fields = {k: v for k, v in record.items() if k not in MIN_KEYS and k != control}
    value = record.get(control) if control else None
    if isinstance(value, dict):
        value = value.get("choices")
    values = value if isinstance(value, list) else [value]
    # Several results of one control are a list of them, each a string or {"choices": [...]}.
    values = [c for v in values for c in ((v.get("choices") or []) if isinstance(v, dict) else [v])]
    label, problems = one_label(values, control or "", number, f"{name}: ")
    return Task(number, name, record.get("id"), (("", fields),), label, problems)
