"""What every REST API v1 module shares: JSON errors for the client's mistakes, and the
paginated list shape (drf-spectacular cannot see pagination done inside a function view).
"""

from django.core.exceptions import BadRequest, SuspiciousOperation
from drf_spectacular.utils import OpenApiParameter
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

PAGE_PARAMETERS = [
    OpenApiParameter("page", int, description="Page number, from 1."),
    OpenApiParameter("page_size", int, description="Rows per page (default 100, at most 1000)."),
]


class Pagination(PageNumberPagination):
    page_size_query_param = "page_size"
    max_page_size = 1000


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
        fields = {name: [str(m) for m in (messages if isinstance(messages, list)
                                          else [messages])]
                  for name, messages in data.items()}
    else:
        fields = {"non_field_errors": [str(m) for m in (data if isinstance(data, list)
                                                        else [data])]}
    first_name, first = next(iter(fields.items()))
    shown = first[0] if first_name == "non_field_errors" else f"{first_name}: {first[0]}"
    more = sum(len(m) for m in fields.values()) - 1
    return {"detail": shown + (f" (and {more} more)" if more else ""), "fields": fields}


class WholeNumberField(serializers.IntegerField):
    """An integer in ASCII digits: DRF's IntegerField passes strings to int(), which also
    reads '１２' and '²'."""

    def to_internal_value(self, data):
        if isinstance(data, str) and not (data.strip().isascii()):
            self.fail("invalid")
        return super().to_internal_value(data)


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


class DetailSerializer(serializers.Serializer):
    """An error or a message: {"detail": "..."}."""

    detail = serializers.CharField()


class ErrorSerializer(DetailSerializer):
    """Every error the API answers: `detail` in words; `fields` when the body or the query
    did not validate (messages by field name)."""

    fields = serializers.DictField(child=serializers.ListField(child=serializers.CharField()),
                                   required=False)
