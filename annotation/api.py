"""Read-only JSON API (Django REST framework), with the same role checks as the pages."""

from rest_framework import serializers
from rest_framework.decorators import api_view
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response

from .access import ADMIN_ONLY, ALL_ROLES, project_for
from .models import Category, Report
from .selectors import reports_filtered


class CategorySerializer(serializers.ModelSerializer):
    class Meta:
        model = Category
        fields = ["code", "name", "description", "key", "colour"]


class ReportSerializer(serializers.ModelSerializer):
    patient_id = serializers.CharField(source="patient.pseudo_id")
    reference = serializers.SerializerMethodField()
    predicted = serializers.IntegerField(source="predicted_code", allow_null=True)
    margin = serializers.FloatField(allow_null=True)

    class Meta:
        model = Report
        fields = ["accession", "patient_id", "procedure_date", "split", "text", "reference",
                  "predicted", "margin"]

    def get_reference(self, report):
        label = getattr(report, "reference_label", None)
        return {"category": label.category.code, "method": label.method} if label else None


@api_view(["GET"])
def categories(request, slug):
    project = project_for(request, slug, ALL_ROLES)
    return Response(CategorySerializer(project.categories.all(), many=True).data)


@api_view(["GET"])
def reports(request, slug):
    """Reports with reference labels and the active model's prediction; admins only.
    Takes the same filters as the reports page (split, status, reference, predicted, q...)."""
    project = project_for(request, slug, ADMIN_ONLY)
    queryset, _ = reports_filtered(project, request.query_params)
    paginator = PageNumberPagination()
    page = paginator.paginate_queryset(queryset, request)
    return paginator.get_paginated_response(ReportSerializer(page, many=True).data)
