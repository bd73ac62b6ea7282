"""HL7 v2 ORU^R01 result messages: a file of one or more, segments separated by carriage
returns or line breaks, each message starting at its MSH (the batch and file segments FHS,
BHS, BTS and FTS are passed over, and so are messages other than ORU^R01). The hl7 package
parses each message and decodes its escapes.

A message is one report, a row under ctir's own field names: PID-3 the patient, PID-7 and
PID-8 their birth date and sex, OBR-3 (else OBR-2) the accession, OBR-7 the procedure date,
and the text values of its OBX-5, a line each. A problem is placed by the message's number in
the file and names the segment and field: "message 3, column OBR-7: ...".
"""

import re

import hl7

from ..checks import RowError
from ..clinical import REPORT_COLUMNS, age_at
from ..formats import Header, ImportFormatError, RawRow, TextReader, register

# HL7 table 0001 -> ctir's sex values (checks.SEX_VALUES): A ambiguous, N not applicable.
SEX = {"F": "F", "M": "M", "O": "O", "U": "U", "A": "O", "N": "U", "": ""}
# OBX-2 value types that hold report text; a code (CE), a number or an embedded PDF (ED) is
# not part of what a radiologist wrote.
TEXT_TYPES = frozenset(("TX", "FT", "ST", ""))
# How formatted text's escapes read as plain text: breaks are line breaks (the package's
# default is a carriage return), highlighting marks nothing (its default is "_").
_PLAIN = {".br": "\n", ".sp": "\n", ".ce": "\n", "H": "", "N": ""}
_WRAPPERS = ("FHS", "BHS", "BTS", "FTS")
# DTM: YYYY[MM[DD[HH[MM[SS[.S[S[S[S]]]]]]]]][+/-ZZZZ]
_DTM = re.compile(r"(\d{4})(?:(\d{2})(?:(\d{2})(?:\d{2}(?:\d{2}(?:\d{2}(?:\.\d{1,4})?)?)?)?)?)?"
                  r"(?:[+-]\d{4})?", re.ASCII)
_MESSAGE_START = re.compile(rb"(?:^|[\r\n])[\x0b]?MSH")


@register
class Hl7Reader(TextReader):
    name = "hl7"
    suffixes = (".hl7",)
    described = ".hl7 (HL7 v2 ORU^R01)"
    unit = "message"

    def read(self, handle, date_source: str | None = None):
        yield Header(0, REPORT_COLUMNS)
        for number, text in enumerate(_messages(handle), start=1):
            yield from _message_rows(number, text)

    def estimate_rows(self, path) -> int:
        messages = 0
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                messages += len(_MESSAGE_START.findall(block))
        return max(messages, 1)


def _messages(handle):
    """Each message's segments, joined by carriage returns as the parser expects."""
    segments: list[str] = []
    # The file is opened with newline="": a line ends at \r, \n or \r\n alike.
    for number, line in enumerate(handle, start=1):
        segment = line.strip()  # with an MLLP frame's \x0b and \x1c, whitespace to Python
        if not segment or segment.startswith(_WRAPPERS):
            continue
        if segment.startswith("MSH"):
            if segments:
                yield "\r".join(segments)
            segments = [segment]
        elif not segments:
            # Placed by its line: there is no message to number it by.
            raise ImportFormatError(
                f"a {segment[:3]} segment on line {number}, before any MSH; an HL7 v2 file "
                "holds messages, each starting at its MSH segment")
        else:
            segments.append(segment)
    if segments:
        yield "\r".join(segments)


def _message_rows(number: int, text: str):
    try:
        message = hl7.parse(text)
    except (hl7.ParseException, IndexError, ValueError) as exc:
        yield RowError(number, "MSH", f"not a readable HL7 message ({exc})")
        return
    if (_value(message, "MSH.F9.R1.C1"), _value(message, "MSH.F9.R1.C2")) != ("ORU", "R01"):
        return  # an ACK or ADT message in a feed's dump: not a report
    problems: list[RowError] = []

    def bad(column, reason):
        problems.append(RowError(number, column, reason))

    accession = _accession(message, bad)
    patient_id = _patient_id(message)
    if not patient_id:
        bad("PID-3", "no patient identifier")
    date = _observation_date(message, bad)
    text = _report_text(message)
    if not text.strip():
        bad("OBX-5", "no report text (no OBX segment with a text value)")
    sex = _value(message, "PID.F8")
    if sex.upper() not in SEX:
        bad("PID-8", f"unknown sex {sex!r} (HL7 uses F, M, O, U, A or N)")
    age = _age(message, date, bad)
    if problems:
        yield from problems
        return
    yield RawRow(number, {
        "accession": accession, "patient_id": patient_id,
        "sex": SEX[sex.upper()], "age": age,
        "procedure_date": date.isoformat() if date else "", "text": text,
    })


def _value(message: hl7.Message, key: str) -> str:
    """The field (component, ...) at `key` with its escapes decoded; '' if not there."""
    try:
        return str(message[key]).strip()
    except (KeyError, IndexError):
        return ""


def _accession(message: hl7.Message, bad) -> str:
    """OBR-3 (the filler order number), else OBR-2: one order a message."""
    try:
        orders = message.segments("OBR")
    except KeyError:
        bad("OBR", "no OBR segment (the accession and the procedure date are read from it)")
        return ""
    numbers = []
    for index in range(1, len(orders) + 1):
        number = (_value(message, f"OBR{index}.F3.R1.C1")
                  or _value(message, f"OBR{index}.F2.R1.C1"))
        if number and number not in numbers:
            numbers.append(number)
    if not numbers:
        bad("OBR-3", "no filler (OBR-3) or placer (OBR-2) order number for the accession")
    elif len(numbers) > 1:
        bad("OBR-3", f"{len(numbers)} orders in one message ({', '.join(numbers)}); ctir "
                     "reads one report a message")
    return numbers[0] if numbers else ""


def _observation_date(message: hl7.Message, bad):
    raw = _value(message, "OBR.F7")
    if not raw:
        if any(str(segment[0]) == "OBR" for segment in message):  # else _accession said so
            bad("OBR-7", "no observation date/time (the procedure date is read from it)")
        return None
    match = _DTM.fullmatch(raw)
    if match and not match.group(3):
        bad("OBR-7", f"{raw!r} names no day; the procedure date needs one")
        return None
    try:
        if match is None:
            raise ValueError(raw)
        return hl7.parse_datetime(raw).date()
    except ValueError:
        bad("OBR-7", f"{raw!r} is not an HL7 date/time (YYYYMMDD[HHMM[SS]])")
        return None


def _report_text(message: hl7.Message) -> str:
    """OBX-5 of the text OBX segments, a line for each (and for each repetition)."""
    lines = []
    for segment in message:
        if str(segment[0]) != "OBX" or len(segment) <= 5:
            continue
        if str(segment(2)).strip().upper() not in TEXT_TYPES:
            continue
        # Unescaped here rather than by the accessor, for the line breaks of _PLAIN.
        lines += [message.unescape(str(value), app_map=_PLAIN) for value in segment(5)]
    return "\n".join(lines)


def _patient_id(message: hl7.Message) -> str:
    """PID-3: the medical record number (identifier type MR) if one is given, else the
    first identifier."""
    try:
        repetitions = len(message.segment("PID")(3))
    except (KeyError, IndexError):
        return ""
    ids = [(_value(message, f"PID.F3.R{r}.C1"), _value(message, f"PID.F3.R{r}.C5"))
           for r in range(1, repetitions + 1)]
    ids = [(value, kind) for value, kind in ids if value]
    return next((value for value, kind in ids if kind == "MR"), ids[0][0] if ids else "")


def _age(message: hl7.Message, date, bad) -> int | str:
    raw = _value(message, "PID.F7")
    if not raw or date is None:
        return ""
    match = _DTM.fullmatch(raw)
    try:
        if match is None:
            raise ValueError(raw)
        return age_at(date, *(int(part) for part in match.groups() if part))
    except ValueError:
        bad("PID-7", f"birth date {raw!r} is not an HL7 date (YYYY[MM[DD]])")
        return ""
