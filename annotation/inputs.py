"""Numbers read from forms and query strings.

A malformed value is the client's mistake: it raises BadRequest with a message naming the
field, and the 400 page shows that message (ctir_site.urls.handler400), never a 500.
"""

import math

from django.core.exceptions import BadRequest
from django.shortcuts import render

MAX_INT = 2**31 - 1  # PostgreSQL integer; ids and positions stay far below it


def _shown(value) -> str:
    return repr(value if len(value) <= 40 else value[:40] + "...")


def whole_number(value, *, name: str, maximum: int = MAX_INT) -> int | None:
    """None for a missing or empty value, else ASCII digits from 0 to maximum."""
    if value is None or value == "":
        return None
    text = str(value).strip()
    # isdigit() alone is true of '²'; the length check comes before int() ever sees 5,000 digits.
    if not (text.isascii() and text.isdigit()) or len(text) > len(str(maximum)) or (
            int(text) > maximum):
        raise BadRequest(f"{name} must be a whole number from 0 to {maximum}, not "
                         f"{_shown(str(value))}")
    return int(text)


def milliseconds(value, *, name: str = "active_ms") -> int | None:
    """None for a missing or empty value, else a finite, non-negative number of milliseconds."""
    if value is None or value == "":
        return None
    try:
        number = float(value)
    except ValueError:
        number = math.nan
    if not math.isfinite(number) or number < 0:
        raise BadRequest(f"{name} must be a number of milliseconds (0 or more), not "
                         f"{_shown(str(value))}")
    return int(min(number, MAX_INT))  # the services clamp it to the time on screen anyway


def bad_request(request, exception=None):
    """handler400: our own BadRequest says what was wrong; anything else stays generic."""
    message = str(exception) if type(exception) is BadRequest and str(exception) else (
        "The request could not be understood.")
    return render(request, "400.html", {"message": message}, status=400)
