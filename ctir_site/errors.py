"""handler400 and handler500: the error pages that say what was wrong.

handler400: a malformed value is the client's mistake (a form of the pages' own input, an
InputForm in annotation.forms, raises BadRequest with a message naming the field), and the
400 page shows that message, never a 500.

handler500: say what broke and what to do, without touching the database.

A PostgreSQL restart (or a dropped connection) makes every request that was using the old
connection fail. Django's bare "Server Error (500)" does not tell an annotator whether the
answer was kept; worse, htmx swaps nothing on a 5xx, so the click seemed to do nothing. The
database rolls the request's transaction back, so "not saved, try again" is true, and the
answer form's token still holds, so the same click works once the database is back (a
repeated answer is kept once: annotation_submit). The page is rendered from a template that
needs no user, no session and no query: those are what just failed.
"""

import sys

from django.core.exceptions import BadRequest
from django.db import DatabaseError, InterfaceError, OperationalError
from django.http import HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string

DATABASE_DOWN = ("The database is not answering (it may be restarting), so what you just "
                 "sent was not saved. Wait a moment and try again: nothing is lost.")
OTHER = ("Something went wrong on the server and what you just sent may not have been "
         "saved. Try again; if it happens again, tell your administrator (the error is in "
         "the server log).")


def bad_request(request, exception=None):
    """Our own BadRequest says what was wrong; anything else stays generic."""
    message = str(exception) if type(exception) is BadRequest and str(exception) else (
        "The request could not be understood.")
    return render(request, "400.html", {"message": message}, status=400)


def server_error(request):
    exc = sys.exc_info()[1]
    down = isinstance(exc, (OperationalError, InterfaceError)) or (
        isinstance(exc, DatabaseError) and "connection" in str(exc).lower())
    status = 503 if down else 500
    html = render_to_string("500.html", {"message": DATABASE_DOWN if down else OTHER,
                                         "status": status})
    response = HttpResponse(html, status=status)
    if down:
        response["Retry-After"] = "5"
    return response
