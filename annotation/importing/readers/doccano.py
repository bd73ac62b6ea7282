"""doccano's JSON Lines export of a text classification project: one example a line, `text`,
`label` a list of category names (older exports: `labels`, or a single string), the tool's
`id`, and the example's metadata as keys of its own (older exports: under `meta`). A report
takes one category: the same label twice (two annotators agreeing) is one, two different
labels are refused with the line.

Content decides: a .jsonl (or .json) file whose first record has `text` and `label` or
`labels`, and either a list there or none of ctir's own accession and procedure_date keys,
is read here; plain JSON Lines in ctir's columns as before.
"""

from pathlib import Path

from ..formats import TextReader, register
from .tasks import Tally, Task, first_json_line, is_prodigy, json_lines, one_label, task_rows

# The tool's own keys, not the example's fields.
OWN_KEYS = frozenset(("id", "label", "labels", "Comments", "comments", "meta",
                      "annotation_approver"))


@register
class DoccanoReader(TextReader):
    name = "doccano"
    suffixes = (".doccano.jsonl",)  # the name ctir's own doccano export has
    sniffed = (".jsonl", ".json", ".ndjson")
    described = ".jsonl (doccano export)"

    @classmethod
    def claims(cls, path: Path) -> bool:
        first = first_json_line(path)
        if first is None or "text" not in first or is_prodigy(first):
            return False
        key = "label" if "label" in first else "labels" if "labels" in first else None
        return key is not None and (isinstance(first[key], list) or not (
            {"accession", "procedure_date"} & first.keys()))

    def read(self, handle, date_source: str | None = None):
        def tasks():
            handle.seek(0)
            for number, record in json_lines(handle):
                yield record if not isinstance(record, dict) else _task(number, record)

        yield from task_rows(tasks, kind="doccano export", unit="line",
                             date_field="procedure_date", said_of_labels=_said)


def _said(tally: Tally) -> str:
    return "the example's label; an example without one imports without a label."


def _task(number: int, record: dict) -> Task:
    fields = {k: v for k, v in record.items() if k not in OWN_KEYS}
    meta = record.get("meta") if isinstance(record.get("meta"), dict) else {}
    key = "label" if "label" in record else "labels"
    value = record.get(key)
    label, problems = one_label(value if isinstance(value, list) else [value], key, number)
    return Task(number, "", record.get("id"), (("", fields), ("meta.", meta)), label, problems)
