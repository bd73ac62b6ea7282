"""What every REST API v1 module shares: JSON errors for the client's mistakes, and the
paginated list shape (drf-spectacular cannot see pagination done inside a function view).
"""

from django.core.exceptions import BadRequest, SuspiciousOperation
from drf_spectacular.utils import OpenApiParameter
from rest_framework import serializers
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
    bad input (inputs.whole_number, a bad served token): a 400 with the message, as JSON."""
    if isinstance(exc, BadRequest | SuspiciousOperation):
        return Response({"detail": str(exc) or "The request could not be understood."},
                        status=400)
    return drf_exception_handler(exc, context)


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
