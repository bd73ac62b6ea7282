"""What every REST API v1 module shares: JSON errors for the client's mistakes, in one shape
(ErrorSerializer) that the schema declares for every status an operation can answer
(`errors`), checked query strings (`query` and the paging parameters), and the paginated
list shape (drf-spectacular cannot see pagination done inside a function view).
"""

import math

from django.core.exceptions import BadRequest, SuspiciousOperation
from django.core.validators import ProhibitNullCharactersValidator
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework.views import exception_handler as drf_exception_handler

MAX_INT = 2**31 - 1  # PostgreSQL integer: ids, numbers and pages stay below it
MAX_PAGE_SIZE = 1000


# --- The one error shape ------------------------------------------------------------------------

class DetailSerializer(serializers.Serializer):
    """A message: {"detail": "..."}."""

    detail = serializers.CharField()


class ErrorSerializer(DetailSerializer):
    """Every error the API answers: `detail` in words; `fields` when the body or the query
    did not validate (messages by field name)."""

    fields = serializers.DictField(child=serializers.ListField(child=serializers.CharField()),
                                   required=False)


ERROR_MEANINGS = {
    400: "The request did not validate: `detail` says what was wrong and, for a body or a "
         "query string, `fields` gives the messages by field.",
    401: "No token, or a bad or revoked one (the answer carries `WWW-Authenticate: Bearer`).",
    403: "Your role in this project may not do this; or a browser session's write without "
         "its CSRF token.",
    404: "No such project for you (outside it you get 404, never 403), no such object in it, "
         "or a page past the last.",
    409: "The project's state does not allow it now; `detail` says why.",
    413: "The request is larger than the API takes; `detail` says how to send it instead.",
    415: "The body is not JSON: send `Content-Type: application/json`.",
    503: "A job cannot start: no worker listens on its queue, or the job queue did not take "
         "it; `detail` says what to do.",
}


def errors(*codes: int, **meanings: str) -> dict[int, OpenApiResponse]:
    """The error answers of an operation, all in ErrorSerializer's shape, each with what it
    means here: `errors(401, 403, 404)`, or `errors(409, e409="...")` for a meaning of this
    operation's own."""
    return {code: OpenApiResponse(ErrorSerializer,
                                  description=meanings.get(f"e{code}", ERROR_MEANINGS[code]))
            for code in codes}


def exception_handler(exc, context):
    """DRF's handler, plus the Django errors the shared input helpers and services raise for
    bad input (inputs.whole_number, a bad served token): a 400 with the message, as JSON.

    Every error has one shape (ErrorSerializer): `detail`, one sentence a person can read,
    and for a body that did not validate, `fields`, the messages by field."""
    if isinstance(exc, BadRequest | SuspiciousOperation):
        return Response({"detail": str(exc) or "The request could not be understood."},
                        status=400)
    response = drf_exception_handler(exc, context)
    if response is not None and isinstance(exc, ValidationError):
        response.data = _validation_error(response.data)
    return response


def _validation_error(data) -> dict:
    if isinstance(data, dict):
        fields = {name: _messages(messages) for name, messages in data.items()}
    else:
        fields = {"non_field_errors": _messages(data)}
    first_name, first = next(iter(fields.items()), ("non_field_errors", ["Not valid."]))
    first = first or ["Not valid."]
    shown = first[0] if first_name == "non_field_errors" else f"{first_name}: {first[0]}"
    more = sum(len(m) for m in fields.values()) - 1
    return {"detail": shown + (f" (and {more} more)" if more > 0 else ""), "fields": fields}


def _messages(messages) -> list[str]:
    """A field's messages as strings; a nested serializer's (a dict, or a list of them for a
    list of objects) flattened to "name: message"."""
    if isinstance(messages, dict):
        return [f"{name}: {m}" for name, inner in messages.items() for m in _messages(inner)]
    if isinstance(messages, list):
        return [m for inner in messages for m in _messages(inner)]
    return [str(messages)]


class NotFoundView(APIView):
    """Any other path under /api/v1/, by any method: 401 without a token (as everywhere),
    else a JSON 404 in the API's error shape, never the site's HTML page."""

    schema = None  # not an operation
    http_method_names = []  # every method, OPTIONS too, goes to the handler below

    def http_method_not_allowed(self, request, *args, **kwargs):
        raise NotFound(f"No API operation at {request.path[:200]!r}; see /api/v1/docs/.")


not_found = NotFoundView.as_view()


# --- Query strings ------------------------------------------------------------------------------

class WholeNumberField(serializers.IntegerField):
    """An integer in ASCII digits: DRF's IntegerField passes strings to int(), which also
    reads '１２' and '²'. With `json=True` (a field of a JSON body) only a JSON integer: not
    "12", not 12.5, not true, as the schema says."""

    def __init__(self, *, json: bool = False, **kwargs):
        self.json = json
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if self.json and (isinstance(data, bool) or not isinstance(data, int)):
            self.fail("invalid")
        if isinstance(data, str) and not (data.strip().isascii()):
            self.fail("invalid")
        return super().to_internal_value(data)


class FiniteFloatField(serializers.FloatField):
    """A float that is a number: 'nan' and 'inf' are no values. With `json=True` (a field
    of a JSON body) only a JSON number: not "12", not true."""

    def __init__(self, *, json: bool = False, **kwargs):
        self.json = json
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if self.json and (isinstance(data, bool) or not isinstance(data, int | float)):
            self.fail("invalid")
        value = super().to_internal_value(data)
        if not math.isfinite(value):
            self.fail("invalid")
        return value


class QueryTextField(serializers.CharField):
    """Text from a query string, taken as it is but for NUL characters, which PostgreSQL
    cannot compare with and no stored text holds: dropped, not refused (a filter on them
    finds nothing either way)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("allow_blank", True)
        kwargs.setdefault("trim_whitespace", False)
        super().__init__(**kwargs)
        self.validators = [v for v in self.validators
                           if not isinstance(v, ProhibitNullCharactersValidator)]

    def to_internal_value(self, data):
        return super().to_internal_value(data).replace("\x00", "")


class JsonCharField(serializers.CharField):
    """A JSON string: DRF's CharField would also take 12 or true and read them as text."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class JsonBooleanField(serializers.BooleanField):
    """A JSON true or false: DRF's BooleanField would also take "yes", 1 or "on"."""

    def to_internal_value(self, data):
        if not isinstance(data, bool):
            self.fail("invalid")
        return data


class PageSerializer(serializers.Serializer):
    """The paging parameters of every list."""

    page = WholeNumberField(required=False, min_value=1, max_value=MAX_INT,
                            help_text="Page number, from 1.")
    page_size = WholeNumberField(required=False, min_value=1, max_value=MAX_PAGE_SIZE,
                                 help_text=f"Rows per page (default 100, at most "
                                 f"{MAX_PAGE_SIZE:,}).")


# drf-spectacular turns a serializer among `parameters` into query parameters.
PAGE_PARAMETERS = [PageSerializer]


def query(serializer_class, request) -> dict:
    """The query string checked by its serializer: a 400 naming each bad parameter (a page
    size of 'null', a date that is none), never a value silently ignored."""
    serializer = serializer_class(data=request.query_params)
    # DRF reads `?page=` as no page at all; a value left empty is no value the schema allows.
    empty = {name: ["May not be empty."] for name, field in serializer.fields.items()
             if request.query_params.get(name) == "" and not getattr(field, "allow_blank",
                                                                      False)}
    if empty:
        raise ValidationError(empty)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


class Pagination(PageNumberPagination):
    page_size_query_param = "page_size"
    max_page_size = MAX_PAGE_SIZE

    def paginate_queryset(self, queryset, request, view=None):
        query(PageSerializer, request)  # 'null', '0', '１' or 5,000: a 400, not the default
        return super().paginate_queryset(queryset, request, view)


# --- Bodies -------------------------------------------------------------------------------------

def valid(serializer_class, request, **context) -> dict:
    """The request body checked by its serializer: a 400 naming each bad field, never a 500
    for a body that is not an object or lacks a field."""
    serializer = serializer_class(data=request.data, context={"request": request, **context})
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def paginate(request, queryset, serializer_class, **kwargs) -> Response:
    paginator = Pagination()
    page = paginator.paginate_queryset(queryset, request)
    return paginator.get_paginated_response(serializer_class(page, many=True, **kwargs).data)


_PAGED: dict[type, type] = {}


def paged(serializer_class: type) -> type:
    """The schema of one page of `serializer_class` rows: count, next, previous, results."""
    if serializer_class not in _PAGED:
        name = serializer_class.__name__.removesuffix("Serializer")
        _PAGED[serializer_class] = type(f"Paginated{name}List", (serializers.Serializer,), {
            "count": serializers.IntegerField(),
            "next": serializers.URLField(allow_null=True),
            "previous": serializers.URLField(allow_null=True),
            "results": serializer_class(many=True),
        })
    return _PAGED[serializer_class]


def with_detail(serializer_class: type, name: str, *, required: bool = False,
                job_optional: bool = False) -> type:
    """The schema of `serializer_class`'s body with a `detail` message added: optional (a
    note that may come with the body), `required`, or required with `job_optional` (a 503 of
    a job that did not start: `detail` says what to do and, when the job was made but the
    job queue did not take it, the failed job's fields come too, so each is optional)."""
    required = required or job_optional

    class WithDetail(serializer_class):
        detail = serializers.CharField(required=required)

        class Meta(serializer_class.Meta):
            fields = [*serializer_class.Meta.fields, "detail"]

        def get_fields(self):
            fields = super().get_fields()
            if job_optional:
                for field_name, field in fields.items():
                    if field_name != "detail":
                        # For the schema only: a read-only field counts as always present.
                        field.required, field.read_only = False, False
            return fields

    WithDetail.__name__ = WithDetail.__qualname__ = f"{name}Serializer"
    WithDetail.__doc__ = (
        "The job did not start: `detail` says what to do. When the job was made but the job "
        "queue did not take it, the failed job's fields come with it." if job_optional else
        "The job failed to start: `detail` says why and what to do." if required else
        "With `detail` when there is something to add.")
    return WithDetail
