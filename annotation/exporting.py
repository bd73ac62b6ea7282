"""Every CSV that leaves ctir is written here (label exports, study responses, the paper's
tables and responses, `study_report --paper`), so none of them can carry a formula into a
spreadsheet; JSON Lines are written verbatim. So are the label exports in the formats other
tools read: Label Studio JSON, doccano and Prodigy JSON Lines, and a Hugging Face `datasets`
folder of Parquet files with its dataset card, zipped."""

import csv
import datetime
import io
import json
import re
import tempfile
import zipfile
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from xml.sax.saxutils import quoteattr

# A spreadsheet runs a cell that starts with one of these as a formula (=HYPERLINK(...)).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
# A signed number written as text ("-3.2", "+26.0" in a results table) is read as a number,
# not run: it stays as it is, so tables of differences are not littered with apostrophes.
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?%?")


def inert(value):
    """Text that a spreadsheet would run gets a leading apostrophe; numbers stay numbers."""
    if (isinstance(value, str) and value.startswith(FORMULA_PREFIXES)
            and not _NUMBER.fullmatch(value)):
        return "'" + value
    return value


def csv_text(rows: Iterable[Iterable]) -> str:
    """Rows (the first one the header) as one CSV text, every cell made inert."""
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows([inert(c) for c in row] for row in rows)
    return out.getvalue()


def csv_lines(columns: list[str], rows: Iterator[dict]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({key: inert(value) for key, value in row.items()})
        if buffer.tell() > 64_000:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def jsonl_lines(columns: list[str], rows: Iterator[dict]) -> Iterator[str]:
    for row in rows:
        yield json.dumps({c: row[c] for c in columns}, ensure_ascii=False) + "\n"


def export_lines(fmt: str, columns, rows) -> Iterator[str]:
    if fmt == "csv":
        return csv_lines(columns, rows)
    if fmt == "jsonl":
        return jsonl_lines(columns, rows)
    raise ValueError(f"unknown export format {fmt!r}; use csv or jsonl")


# --- Formats other tools read ------------------------------------------------------------
# Their rows come from annotation.selectors.export_reports: one dict per report.

# The URL's `export.<fmt>` and the downloaded file's suffix -> its content type.
EXPORT_FORMATS = {
    "csv": "text/csv; charset=utf-8",
    "jsonl": "application/x-ndjson",
    "label-studio.json": "application/json",
    "doccano.jsonl": "application/x-ndjson",
    "prodigy.jsonl": "application/x-ndjson",
    "hf.zip": "application/zip",
}
# Label Studio names the control and the object tag of its labeling config; a result names
# both, so the tasks and the config must agree on them.
LS_FROM_NAME, LS_TO_NAME = "category", "text"


def label_studio_config(categories: Iterable[tuple[int, str]]) -> str:
    """The labeling config that the Label Studio export imports into unchanged."""
    choices = "".join(f"\n    <Choice value={quoteattr(name)}/>"
                      for name in label_names(categories).values())
    return (f'<View>\n  <Text name="{LS_TO_NAME}" value="$text"/>\n'
            f'  <Choices name="{LS_FROM_NAME}" toName="{LS_TO_NAME}" choice="single">'
            f'{choices}\n  </Choices>\n</View>\n')


def label_names(categories: Iterable[tuple[int, str]]) -> dict[int, str]:
    """Code -> the name other tools know the category by. Those tools tell labels apart by
    name, and ctir does not keep names unique, so a name two categories share gets its
    code: "Biopsy (code 2)"."""
    categories = list(categories)
    shared = {name for name, n in Counter(name for _, name in categories).items() if n > 1}
    return {code: f"{name} (code {code})" if name in shared else name
            for code, name in categories}


def _ls_result(name: str) -> list[dict]:
    return [{"from_name": LS_FROM_NAME, "to_name": LS_TO_NAME, "type": "choices",
             "value": {"choices": [name]}}]


def _dated(row: dict) -> dict:
    """The report's date for a task's fields; none for a report without one, which imports
    back without a date."""
    date = row["procedure_date"]
    return {"procedure_date": date.isoformat()} if date is not None else {}


def label_studio_task(row: dict, names: dict[int, str]) -> dict:
    task = {"id": row["id"], "data": {"text": row["text"], "accession": row["accession"],
                                      **_dated(row), "split": row["split"]}}
    if row["label"] is not None:
        task["annotations"] = [{"result": _ls_result(names[row["label"]])}]
    if row["predicted"] is not None:
        prediction = {"model_version": f"v{row['model_version']}",
                      "result": _ls_result(names[row["predicted"]])}
        if row["score"] is not None:
            prediction["score"] = row["score"]
        task["predictions"] = [prediction]
    return task


def label_studio_chunks(rows: Iterator[dict], names: dict[int, str]) -> Iterator[str]:
    """One JSON array of tasks, in chunks of about 64 kB: Label Studio takes an array, not
    lines, but the server still never holds the whole export."""
    buffer, separator = ["["], "\n"
    size = 1
    for row in rows:
        text = separator + json.dumps(label_studio_task(row, names), ensure_ascii=False)
        buffer.append(text)
        size += len(text)
        separator = ",\n"
        if size > 64_000:
            yield "".join(buffer)
            buffer, size = [], 0
    buffer.append("\n]\n")
    yield "".join(buffer)


def doccano_record(row: dict, names: dict[int, str]) -> dict:
    """doccano's text classification line: `label` is a list; other keys become metadata."""
    return {"text": row["text"], "label": [names[row["label"]]] if row["label"] is not None else [],
            "accession": row["accession"], **_dated(row), "split": row["split"]}


def prodigy_record(row: dict, names: dict[int, str]) -> dict:
    """Prodigy's text classification task: an accepted label per report; a report without a
    reference label goes without label and answer, as a task still to annotate."""
    record = {"text": row["text"]}
    if row["label"] is not None:
        record.update(label=names[row["label"]], answer="accept")
    # The date too, so that the export imports back into ctir (a report needs one).
    record["meta"] = {"accession": row["accession"], **_dated(row), "split": row["split"]}
    return record


def report_lines(fmt: str, rows: Iterator[dict],
                 categories: Iterable[tuple[int, str]]) -> Iterator[str]:
    """The streamed export of a format other tools read (not the Parquet zip)."""
    names = label_names(categories)
    if fmt == "label-studio.json":
        return label_studio_chunks(rows, names)
    record = {"doccano.jsonl": doccano_record, "prodigy.jsonl": prodigy_record}.get(fmt)
    if record is None:
        raise ValueError(f"unknown export format {fmt!r}")
    return (json.dumps(record(row, names), ensure_ascii=False) + "\n" for row in rows)


# --- Hugging Face datasets: Parquet per split and a dataset card ----------------------------

# Left out unless asked for: they name a patient or an examination, or date it.
IDENTIFIER_COLUMNS = ["accession", "patient_id", "procedure_date"]
PARQUET_BATCH = 2000


def _dataset_columns(identifiers: bool):
    import pyarrow as pa  # only the Parquet export needs it, not every page

    columns = [("report_id", pa.int64(), "int64")]
    if identifiers:
        columns += [("accession", pa.string(), "string"), ("patient_id", pa.string(), "string"),
                    ("procedure_date", pa.date32(), "date32")]
    return columns + [
        ("sex", pa.string(), "string"), ("age", pa.int64(), "int64"),
        ("text", pa.string(), "string"),
        ("label", pa.int64(), None),  # a ClassLabel: the index into the label names, -1 none
        ("label_code", pa.int64(), "int64"), ("label_name", pa.string(), "string"),
    ]


def _dataset_row(row: dict, index: dict[int, int], names: list[str], identifiers: bool) -> dict:
    label = index[row["label"]] if row["label"] is not None else -1
    out = {"report_id": row["id"], "sex": row["sex"], "age": row["age"], "text": row["text"],
           "label": label, "label_code": row["label"],
           "label_name": names[label] if label >= 0 else None}
    if identifiers:
        out.update(accession=row["accession"], patient_id=row["patient_id"],
                   procedure_date=row["procedure_date"])
    return out


def _write_parquet(path: Path, schema, rows: Iterator[dict]) -> Counter:
    """The rows into one Parquet file, a batch at a time; the labels counted."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    counts, batch = Counter(), []
    with pq.ParquetWriter(path, schema) as writer:
        for row in rows:
            batch.append(row)
            counts[row["label"]] += 1
            if len(batch) == PARQUET_BATCH:
                writer.write_table(pa.Table.from_pylist(batch, schema=schema))
                batch = []
        writer.write_table(pa.Table.from_pylist(batch, schema=schema))
    return counts


def write_hf_dataset(out, *, title: str, folder: str, categories: list[tuple[int, str]],
                     splits: dict[str, int], rows_of: Callable[[str], Iterator[dict]],
                     identifiers: bool = False, created: datetime.datetime | None = None):
    """A zip of `folder/README.md` (the dataset card) and `folder/data/<split>.parquet` for
    each split with reports (`splits`: name -> number of reports), written to the binary
    file `out`. `load_dataset("<folder>")` reads it, or the folder uploads to the Hub as a
    dataset repository. The label is a ClassLabel over the category names by code."""
    import pyarrow as pa

    names = list(label_names(categories).values())
    index = {code: i for i, (code, _) in enumerate(categories)}
    columns = _dataset_columns(identifiers)
    features = {name: ({"names": names, "_type": "ClassLabel"} if dtype is None
                       else {"dtype": dtype, "_type": "Value"})
                for name, _, dtype in columns}
    # What `datasets` itself writes into a Parquet schema, so that the ClassLabel survives
    # `load_dataset("parquet", data_files=...)` without the card too.
    schema = pa.schema([pa.field(name, kind) for name, kind, _ in columns],
                       metadata={"huggingface": json.dumps({"info": {"features": features}})})
    present = [split for split, n in splits.items() if n] or list(splits)[:1]
    counts = {}
    with tempfile.TemporaryDirectory() as scratch, \
            zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for split in present:
            path = Path(scratch) / f"{split}.parquet"
            counts[split] = _write_parquet(
                path, schema, (_dataset_row(r, index, names, identifiers) for r in rows_of(split)))
            # Parquet is compressed already.
            archive.write(path, f"{folder}/data/{split}.parquet", zipfile.ZIP_STORED)
            path.unlink()
        card = dataset_card(title=title, names=names, categories=categories, columns=columns,
                            counts=counts, identifiers=identifiers,
                            created=created or datetime.datetime.now(datetime.UTC))
        archive.writestr(f"{folder}/README.md", card)


def _yaml_text(value: str) -> str:
    """A YAML double-quoted scalar: JSON's string syntax is a subset of it."""
    return json.dumps(value, ensure_ascii=False)


def dataset_card(*, title, names, categories, columns, counts: dict[str, Counter], identifiers,
                 created) -> str:
    """The README.md of the dataset: a YAML header with the splits' files (`configs`) and
    the features, the label ClassLabel among them, as the Hub reads them; then the label
    names, the counts per split and category, and what identifies a patient."""
    yaml = ["---", f"pretty_name: {_yaml_text(title)}",
            "task_categories:", "- text-classification",
            "tags:", "- medical", "- radiology", "- ctir",
            "configs:", "- config_name: default", "  data_files:"]
    for split in counts:
        yaml += [f"  - split: {split}", f"    path: data/{split}.parquet"]
    yaml += ["dataset_info:", "  features:"]
    for name, _, dtype in columns:
        yaml.append(f"  - name: {name}")
        if dtype is not None:
            yaml.append(f"    dtype: {dtype}")
            continue
        yaml += ["    dtype:", "      class_label:", "        names:"]
        yaml += [f"          '{i}': {_yaml_text(n)}" for i, n in enumerate(names)]
    yaml.append("---")

    splits = list(counts)
    table = ["| label | ctir code | category | " + " | ".join(splits) + " | total |",
             "|---:|---:|---|" + "---:|" * (len(splits) + 1)]
    rows = [(i, code, names[i]) for i, (code, _) in enumerate(categories)]
    rows.append((-1, "", "(no reference label)"))
    for i, code, name in rows:
        per_split = [counts[s][i] for s in splits]
        if i == -1 and not any(per_split):
            continue
        table.append(f"| {i} | {code} | {name.replace('|', '&#124;')} | "
                     + " | ".join(str(n) for n in per_split) + f" | {sum(per_split)} |")
    totals = [sum(counts[s].values()) for s in splits]
    table.append("| | | **all reports** | " + " | ".join(str(n) for n in totals)
                 + f" | {sum(totals)} |")

    left_out = ", ".join(f"`{c}`" for c in IDENTIFIER_COLUMNS)
    if identifiers:
        identifying = (f"**This export includes identifiers: {left_out}.** It was asked for "
                       "with them; do not share it outside the place that holds the patients' "
                       "records.")
    else:
        identifying = (f"Left out: {left_out} (export with `identifiers=1` to include them). "
                       "`report_id` is ctir's own number for the report; `sex` and `age` are "
                       "kept.")
    body = [
        f"# {title}", "",
        f"Radiology reports and their reference labels, exported from ctir on "
        f"{created:%Y-%m-%d %H:%M} UTC: one Parquet file per split.", "",
        "> **Warning:** the report text is as it was imported. It may still hold names, "
        "dates, accession or record numbers and other identifiers, even where the columns "
        "below leave them out. Check it before the dataset leaves the hospital.", "",
        "## Identifiers", "", identifying, "",
        "## Labels", "",
        "`label` is a ClassLabel: the index into the names below (-1: no reference label "
        "yet); `label_code` and `label_name` are ctir's category code and name.", "",
        *table, "",
        "## Columns", "",
        ", ".join(f"`{name}`" for name, _, _ in columns), "",
        "## Loading", "",
        "```python", "from datasets import load_dataset",
        'dataset = load_dataset("path/to/this/folder")  # or the Hub repository it is in',
        "```", "",
    ]
    return "\n".join(yaml + [""] + body)
