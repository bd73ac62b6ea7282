"""Prodigy's JSON Lines (`prodigy db-out`) of text classification: binary `textcat` tasks
(`label` and `answer`) and the `choice` interface (`options`, the ids in `accept`). An
accepted answer gives the label (a choice: the chosen option's text); a rejected or ignored
one gives none, and the report still imports. The fields are looked for in `meta` and in
the task's own keys.

Prodigy saves every answer: the same text answered again (one `_input_hash`) is one report,
its label the answers' outcome in time order (`_timestamp`, else the file's): an accept sets
the label, a reject of that label (or of a choice) clears it, an ignore changes nothing.

Content decides: a .jsonl (or .json) file whose first record has `text` and an `answer`
(or Prodigy's hashes, or only `meta` besides) is read here.
"""

from collections.abc import Hashable
from pathlib import Path

from ..checks import RowError
from ..formats import TextReader, register
from .tasks import Tally, Task, first_json_line, is_prodigy, json_lines, one_label, task_rows

# Prodigy's own keys (and every key starting with "_"), not the task's fields.
OWN_KEYS = frozenset(("label", "answer", "options", "accept", "meta", "spans", "tokens",
                      "html", "score", "priority", "flagged", "config", "relations", "id"))


@register
class ProdigyReader(TextReader):
    name = "prodigy"
    suffixes = (".prodigy.jsonl",)  # the name ctir's own Prodigy export has
    sniffed = (".jsonl", ".json", ".ndjson")
    described = ".jsonl (Prodigy db-out)"

    @classmethod
    def claims(cls, path: Path) -> bool:
        first = first_json_line(path)
        return first is not None and is_prodigy(first)

    def read(self, handle, date_source: str | None = None):
        outcome, superseded = _outcomes(handle)

        def tasks():
            handle.seek(0)
            for number, record in json_lines(handle):
                if not isinstance(record, dict):
                    yield record
                    continue
                kind, label, problems = _decision(number, record)
                label = label if kind == "accept" else None
                if (key := _input(record)) is not None:
                    last, label = outcome[key]
                    if last != number:
                        yield from problems  # an earlier answer to the same text
                        continue
                yield _task(number, record, label, problems)

        def said(tally: Tally) -> str:
            again = (f" {superseded} earlier answer{'s' if superseded != 1 else ''} to the "
                     "same texts (_input_hash) counted in the latest line of each, which "
                     "imports." if superseded else "")
            return ("the accepted label (textcat) or option (choice); a rejected, ignored "
                    f"or unanswered task imports without a label.{again}")

        yield from task_rows(tasks, kind="Prodigy export", unit="line",
                             date_field="meta.procedure_date", said_of_labels=said)


def _input(record: dict) -> Hashable | None:
    key = record.get("_input_hash")
    return key if isinstance(key, str | int) and not isinstance(key, bool) else None


def _outcomes(handle) -> tuple[dict, int]:
    """_input_hash -> (the line of its latest answer, the label its answers come to), and how
    many lines an answer after them supersedes."""
    answers: dict[Hashable, list] = {}
    for number, record in json_lines(handle):
        if isinstance(record, dict) and (key := _input(record)) is not None:
            when = record.get("_timestamp")
            when = when if isinstance(when, int | float) and not isinstance(when, bool) else 0
            answers.setdefault(key, []).append((when, number, _decision(number, record)))
    outcome = {}
    for key, given in answers.items():
        label = None
        for _, _, (kind, said, _) in sorted(given, key=lambda g: g[:2]):
            if kind == "accept":
                label = said
            elif kind == "reject" and (said is None or said == label):
                label = None
        outcome[key] = (max(given, key=lambda g: g[:2])[1], label)
    return outcome, sum(len(given) - 1 for given in answers.values())


def _decision(number: int, record: dict) -> tuple[str | None, object, list[RowError]]:
    """What this answer says: ("accept", label), ("reject", the label rejected, or None for a
    choice), or (None, None) for an ignored or unanswered task."""
    answer = record.get("answer")
    if answer not in ("accept", "reject"):
        return None, None, []
    if "options" not in record and "accept" not in record:
        label = record.get("label")
        return answer, label if isinstance(label, str | int) else None, []
    if answer == "reject":
        return "reject", None, []
    accepted = record.get("accept") or []
    if not isinstance(accepted, list):
        return None, None, [RowError(number, "accept", "accept is not a list of option ids")]
    options = {str(o.get("id")): o.get("text", o.get("id")) for o in record.get("options") or []
               if isinstance(o, dict)}
    unknown = [a for a in accepted if str(a) not in options]
    if unknown:
        return None, None, [RowError(number, "accept", (
            f"accepted option {unknown[0]!r} is not one of the task's options"))]
    label, problems = one_label([options[str(a)] for a in accepted], "accept", number)
    return "accept", label, problems


def _task(number: int, record: dict, label, problems: list[RowError]) -> Task:
    meta = record.get("meta") if isinstance(record.get("meta"), dict) else {}
    fields = {k: v for k, v in record.items() if k not in OWN_KEYS and not k.startswith("_")}
    id_, said = record.get("id", meta.get("id")), "the task id"
    if id_ is None and _input(record) is not None:
        id_, said = _input(record), "_input_hash (Prodigy's hash of the text)"
    return Task(number, "", id_, (("", fields), ("meta.", meta)), label, problems,
                id_said=said)
