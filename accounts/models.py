from django.conf import settings
from django.db import models


class ApiToken(models.Model):
    """A personal token for the REST API. Only its SHA-256 is stored: the token itself is
    shown once, when it is made, and a stolen database holds nothing that logs in.

    Tokens are 256 random bits, so a plain hash is enough; a slow password hash would only
    slow every API request down.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100, help_text="What the token is for, e.g. 'RIS sync'.")
    # The first characters, shown on the token page so a user can tell their tokens apart.
    prefix = models.CharField(max_length=12)
    digest = models.CharField(max_length=64, unique=True)
    created = models.DateTimeField(auto_now_add=True)
    last_used = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created"]

    def __str__(self):
        return f"{self.user} {self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None
