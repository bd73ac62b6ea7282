"""FHIR R4 DiagnosticReports: a Bundle (or one DiagnosticReport) as JSON, or NDJSON with one
resource a line, as a bulk data export writes them. fhir.resources validates every
DiagnosticReport and Patient (its R4B models: the R4 of the releases that still ship it);
other resources (ImagingStudy, Observation, ...) are skipped. A report becomes one row under
ctir's own field names, so the mapping preview shows what was read.

Content decides, not the suffix: a .json, .ndjson or .jsonl file whose top-level (or first)
resource is a Bundle or a DiagnosticReport is read here, plain JSON Lines as before.
"""

import datetime
import json
import re
from html.parser import HTMLParser
from pathlib import Path

from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.diagnosticreport import DiagnosticReport
from fhir.resources.R4B.patient import Patient
from pydantic import BaseModel, ValidationError

from ..checks import RowError
from ..clinical import REPORT_COLUMNS, age_at
from ..formats import Header, ImportFormatError, RawRow, TextReader, register
from .jsonl import _bounded_lines
from .tasks import json_lines

# FHIR administrative gender -> ctir's sex values (checks.SEX_VALUES).
SEX = {"male": "M", "female": "F", "other": "O", "unknown": "U"}
# Problems named per resource: the first few say what is wrong with an export.
PROBLEMS_PER_RESOURCE = 5
_SNIFF_CHARS = 64 * 1024
# Every FHIR serializer writes resourceType first; a file that does not is parsed whole.
_LEADING_TYPE = re.compile(r'\s*\{\s*"resourceType"\s*:\s*"(\w+)"')
_BLOCK_TAGS = frozenset(("address", "blockquote", "br", "dd", "div", "dt", "h1", "h2", "h3",
                         "h4", "h5", "h6", "hr", "li", "p", "pre", "table", "tr"))


@register
class FhirReader(TextReader):
    name = "fhir"
    suffixes = (".fhir.json", ".fhir.ndjson")
    sniffed = (".json", ".ndjson", ".jsonl")
    described = ".json or .ndjson (FHIR R4 DiagnosticReports)"

    @classmethod
    def claims(cls, path: Path) -> bool:
        return _first_resource_type(path) in ("Bundle", "DiagnosticReport")

    def read(self, handle, date_source: str | None = None):
        first = _json_object(_first_line(handle))
        handle.seek(0)
        if first is not None and first.get("resourceType") != "Bundle":
            yield from _ndjson_rows(handle)
        else:
            yield from _document_rows(handle)

    def estimate_rows(self, path: Path) -> int:
        reports = 0
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                reports += block.count(b'"DiagnosticReport"')
        return max(reports, 1)


def _first_resource_type(path: Path) -> str | None:
    try:
        with open(path, encoding="utf-8-sig", newline="") as handle:
            if match := _LEADING_TYPE.match(handle.read(_SNIFF_CHARS)):
                return match.group(1)
            handle.seek(0)
            line = _first_line(handle)
            record = _json_object(line)
            if record is None and line is not None and line.strip() == "{":
                handle.seek(0)  # a document over many lines, which JSON Lines never is
                record = _json_object(handle.read())
    except (OSError, UnicodeDecodeError):
        return None  # the reader the suffix picks says what is wrong with it
    return record.get("resourceType") if record else None


def _first_line(handle) -> str | None:
    """The first line that is not blank (None: none, or one too long to hold)."""
    for line in _bounded_lines(handle):
        if line is None or line.strip():
            return line
    return None


def _json_object(text: str | None) -> dict | None:
    try:
        record = json.loads(text) if text else None
    except (ValueError, RecursionError):
        return None
    return record if isinstance(record, dict) else None


# --- the two layouts -------------------------------------------------------------------------

def _document_rows(handle):
    """A Bundle (problems placed by its entries, from 1) or one DiagnosticReport."""
    try:
        data = json.load(handle)
    except json.JSONDecodeError as exc:
        raise ImportFormatError(f"not valid JSON (line {exc.lineno}, column {exc.colno}: "
                                f"{exc.msg})", line=exc.lineno) from None
    except (ValueError, RecursionError) as exc:
        raise ImportFormatError(f"not valid JSON ({type(exc).__name__})") from None
    kind = data.get("resourceType") if isinstance(data, dict) else None
    if kind == "DiagnosticReport":
        yield Header(0, REPORT_COLUMNS)
        yield from _report_rows(1, data, {})
        return
    if kind != "Bundle":
        raise ImportFormatError("a FHIR file holds a Bundle or DiagnosticReports, not "
                                + (f"a {kind}" if kind else "JSON without a resourceType"))
    yield Header(0, REPORT_COLUMNS, unit="entry")
    entries = data.get("entry") or []
    shell_problems = _bundle_problems(data, entries)
    if shell_problems:
        yield from shell_problems
        return
    resources = [(number, entry.get("resource")) for number, entry in
                 enumerate(entries, start=1)]
    patients: dict[str, Patient] = {}
    for number, resource in resources:
        if _kind(resource) == "Patient":
            patient, problems = _validated(Patient, resource, number)
            yield from problems
            if patient is not None:
                full_url = entries[number - 1].get("fullUrl")
                patients.update({key: patient for key in (
                    full_url, patient.id and f"Patient/{patient.id}") if key})
    for number, resource in resources:
        if _kind(resource) == "DiagnosticReport":
            yield from _report_rows(number, resource, patients)


def _bundle_problems(data: dict, entries) -> list[RowError]:
    """The Bundle itself checked by fhir.resources, its entries' resources left out: those
    are checked one by one, and a resource ctir does not read is no reason to refuse."""
    shell = {**data, "entry": [{k: v for k, v in e.items() if k != "resource"}
                               if isinstance(e, dict) else e for e in entries]
             if isinstance(entries, list) else entries}
    try:
        Bundle.model_validate(shell)
    except ValidationError as exc:
        problems = []
        for error in exc.errors()[:PROBLEMS_PER_RESOURCE]:
            loc = error["loc"]
            if loc[:1] == ("entry",) and len(loc) > 1 and isinstance(loc[1], int):
                problems.append(RowError(loc[1] + 1, _where(loc[2:]),
                                         f"Bundle entry is not valid FHIR R4: {_said(error)}"))
            else:
                problems.append(RowError(0, _where(loc),
                                         f"the Bundle is not valid FHIR R4: {_said(error)}"))
        return problems
    return []


def _ndjson_rows(handle):
    """One resource a line: Patients anywhere in the file are read first."""
    yield Header(0, REPORT_COLUMNS)
    patients: dict[str, Patient] = {}
    for number, record in _records(handle):
        if _kind(record) == "Patient":
            patient, problems = _validated(Patient, record, number)
            yield from problems
            if patient is not None and patient.id:
                patients[f"Patient/{patient.id}"] = patient
    handle.seek(0)
    for number, record in _records(handle):
        if isinstance(record, RowError):
            yield record
        elif _kind(record) == "DiagnosticReport":
            yield from _report_rows(number, record, patients)
        elif _kind(record) == "Bundle":
            yield RowError(number, "", "a Bundle on a line of NDJSON; write one resource a "
                                       "line, or import the Bundle as a .json file of its own")


def _records(handle):
    """(line, resource as JSON) for each line, or (line, RowError) where it is not one."""
    for number, record in json_lines(handle):
        if not isinstance(record, RowError) and _kind(record) is None:
            record = RowError(number, "", "each line must be one FHIR resource (a JSON "
                                          "object with a resourceType)")
        yield number, record


def _kind(resource) -> str | None:
    kind = resource.get("resourceType") if isinstance(resource, dict) else None
    return kind if isinstance(kind, str) else None


def _validated(model: type[BaseModel], resource: dict, number: int,
               ) -> tuple[BaseModel | None, list[RowError]]:
    try:
        return model.model_validate(resource), []
    except ValidationError as exc:
        name = _name(resource)
        return None, [RowError(number, _where(error["loc"]),
                               f"{name} is not valid FHIR R4: {_said(error)}")
                      for error in exc.errors()[:PROBLEMS_PER_RESOURCE]]


def _name(resource: dict) -> str:
    """How a problem names a resource: DiagnosticReport/dr-1."""
    id_ = resource.get("id")
    return f"{resource['resourceType']}/{id_}" if isinstance(id_, str) and id_ else (
        f"{resource['resourceType']} (no id)")


def _where(loc) -> str:
    """pydantic's location as a FHIR path: presentedForm[0].data."""
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path


def _said(error: dict) -> str:
    said = " ".join(str(error["msg"]).split())
    value = error.get("input")
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        said += f" (got {str(value)[:60]!r})"
    return said


# --- one DiagnosticReport -> one row ---------------------------------------------------------

def _report_rows(number: int, resource: dict, patients: dict[str, Patient]):
    report, problems = _validated(DiagnosticReport, resource, number)
    if report is None:
        yield from problems
        return
    name = _name(resource)
    problems = []

    def bad(column, reason):
        problems.append(RowError(number, column, f"{name}: {reason}"))

    accession = _accession(report)
    if not accession:
        bad("identifier", "no identifier with a value (the accession number is read from "
                          "it)")
    date = _procedure_date(report, bad)
    text = _report_text(report, bad)
    patient_id, patient = _patient(report, patients)
    if not patient_id:
        bad("subject", "no subject naming the patient")
    if problems:
        yield from problems
        return
    yield RawRow(number, {
        "accession": accession, "patient_id": patient_id,
        "sex": SEX.get(patient.gender, patient.gender) if patient and patient.gender else "",
        "age": _age(patient, date), "procedure_date": date.isoformat() if date else "",
        "text": text,
    })


def _accession(report: DiagnosticReport) -> str:
    """The identifier typed ACSN (HL7's accession number) if one is, else the first."""
    identifiers = [i for i in report.identifier or [] if i.value]
    typed = [i for i in identifiers if i.type and any(
        c.code == "ACSN" for c in i.type.coding or [])]
    return (typed or identifiers)[0].value if identifiers else ""


def _procedure_date(report: DiagnosticReport, bad):
    column, when = "effectiveDateTime", report.effectiveDateTime
    if when is None and report.effectivePeriod is not None:
        column, when = "effectivePeriod.start", report.effectivePeriod.start
    if when is None:
        bad("effectiveDateTime", "no effectiveDateTime or effectivePeriod.start (the "
                                 "procedure date is read from it)")
    elif isinstance(when, str):  # FHIR allows a year or a month alone
        bad(column, f"{when!r} names no day; the procedure date needs one")
    else:
        # A datetime's own date, at the offset it was written with.
        return when.date() if isinstance(when, datetime.datetime) else when
    return None


def _report_text(report: DiagnosticReport, bad) -> str:
    """conclusion, else the text/plain presentedForms, else the narrative."""
    if report.conclusion and report.conclusion.strip():
        return report.conclusion.strip()
    texts = []
    for index, form in enumerate(report.presentedForm or []):
        media, _, params = (form.contentType or "").partition(";")
        if media.strip().lower() != "text/plain" or not form.data:
            continue
        charset = re.search(r"charset\s*=\s*\"?([\w.:-]+)", params, re.IGNORECASE)
        try:
            texts.append(form.data.decode(charset.group(1) if charset else "utf-8").strip())
        except (LookupError, UnicodeDecodeError):
            bad(f"presentedForm[{index}].data", "text/plain data that is not "
                f"{charset.group(1) if charset else 'UTF-8'} text")
    if any(texts):
        return "\n\n".join(t for t in texts if t)
    if report.text is not None and report.text.div:
        narrative = _Narrative()
        narrative.feed(report.text.div)
        narrative.close()
        if text := narrative.text():
            return text
    bad("conclusion", "no report text: no conclusion, no text/plain presentedForm with data "
                      "and no narrative (text.div)")
    return ""


class _Narrative(HTMLParser):
    """The words of an XHTML narrative, a line for each paragraph, row or break."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_endtag(self, tag):
        self.handle_starttag(tag, [])

    def handle_data(self, data):
        self.parts.append(data)

    def text(self) -> str:
        lines = (" ".join(line.split()) for line in "".join(self.parts).split("\n"))
        return "\n".join(line for line in lines if line)


def _patient(report: DiagnosticReport, patients: dict[str, Patient],
             ) -> tuple[str, Patient | None]:
    """The patient's id (their identifier, else the reference's id) and, when contained or
    bundled, the Patient."""
    subject = report.subject
    if subject is None:
        return "", None
    reference = re.sub(r"/_history/.*$", "", subject.reference or "")
    if reference.startswith("#"):
        patient = next((c for c in report.contained or [] if c.get_resource_type() == "Patient"
                        and c.id == reference[1:]), None)
    else:
        patient = patients.get(reference) or patients.get(
            "/".join(reference.split("/")[-2:]))
    identifiers = [i for i in (patient.identifier if patient else None) or [] if i.value]
    typed = [i for i in identifiers if i.type and any(
        c.code == "MR" for c in i.type.coding or [])]
    if typed or identifiers:
        return (typed or identifiers)[0].value, patient
    if subject.identifier is not None and subject.identifier.value:
        return subject.identifier.value, patient
    return re.split(r"[/#:]", reference)[-1], patient


def _age(patient: Patient | None, date) -> int | str:
    if patient is None or patient.birthDate is None or date is None:
        return ""
    born = patient.birthDate
    if isinstance(born, str):  # a year, or a year and month
        return age_at(date, *(int(part) for part in born.split("-")))
    return age_at(date, born.year, born.month, born.day)
