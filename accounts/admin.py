from django.contrib import admin

from .models import ApiToken


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ["user", "name", "prefix", "created", "last_used", "revoked_at"]
    list_filter = ["revoked_at"]
    search_fields = ["user__username", "name", "prefix"]
    # Nothing here can make a token: the value exists only at creation, on the token page.
    readonly_fields = ["user", "name", "prefix", "digest", "created", "last_used"]

    def has_add_permission(self, request):
        return False
