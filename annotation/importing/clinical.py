"""What the readers of clinical interchange formats (FHIR, HL7 v2) share: the columns they
yield and the patient's age at the procedure from a birth date that may give only a year."""

import calendar
import datetime

# ctir's own field names: the preview's column mapping shows what was read, one to one.
REPORT_COLUMNS = ["accession", "patient_id", "sex", "age", "procedure_date", "text"]


def age_at(on: datetime.date, year: int, month: int | None = None,
           day: int | None = None) -> int | str:
    """Whole years from birth to `on`, or "" (left empty) where a birth date of only a year
    or a month leaves it ambiguous: de-identified exports often keep just the year."""
    first = datetime.date(year, month or 1, day or 1)
    last_month = month or 12
    last = datetime.date(year, last_month, day or calendar.monthrange(year, last_month)[1])
    oldest, youngest = _years(first, on), _years(last, on)
    # A birth after the procedure is the file's error: the checks refuse the negative age.
    return oldest if oldest == youngest else ""


def _years(born: datetime.date, on: datetime.date) -> int:
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))
