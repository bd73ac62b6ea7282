"""Reads of accounts data."""

import hashlib

from .models import ApiToken


def token_digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def tokens_of(user):
    return ApiToken.objects.filter(user=user)


def token_active(raw: str) -> ApiToken | None:
    """The live token with this value, with its user; None for unknown or revoked tokens."""
    return ApiToken.objects.select_related("user").filter(
        digest=token_digest(raw), revoked_at__isnull=True).first()
