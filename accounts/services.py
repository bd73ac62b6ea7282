"""Writes of accounts data: personal API tokens."""

import datetime
import secrets

from django.contrib.auth.models import User
from django.utils import timezone

from .models import ApiToken
from .selectors import token_digest

TOKEN_PREFIX = "ctir_"
MAX_ACTIVE_TOKENS = 20
# last_used is written at most this often per token, so scripts polling the API do not
# turn every read into a write.
LAST_USED_EVERY = datetime.timedelta(minutes=1)


class TokenError(ValueError):
    """A token cannot be made or revoked; the message says why, for the page."""


def token_create(*, user: User, name: str) -> tuple[ApiToken, str]:
    """A new token and its value, which is returned here once and never stored."""
    name = (name or "").strip()
    if not name:
        raise TokenError("Give the token a name, so you know later what uses it")
    if any(ord(ch) < 32 for ch in name):
        raise TokenError("The name holds a control character; use plain text")
    if len(name) > 100:
        raise TokenError("The name is longer than 100 characters")
    if ApiToken.objects.filter(user=user, revoked_at__isnull=True).count() >= MAX_ACTIVE_TOKENS:
        raise TokenError(f"You have {MAX_ACTIVE_TOKENS} tokens already; revoke one first")
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(user=user, name=name, prefix=raw[:12],
                                    digest=token_digest(raw))
    return token, raw


def token_revoke(*, token: ApiToken) -> ApiToken:
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
    return token


def token_used(*, token: ApiToken) -> None:
    now = timezone.now()
    if token.last_used is None or now - token.last_used > LAST_USED_EVERY:
        ApiToken.objects.filter(pk=token.pk).update(last_used=now)
        token.last_used = now
