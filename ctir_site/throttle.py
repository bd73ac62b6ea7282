"""Login throttling (django-axes): the client address it counts, and the lockout page."""

from django.conf import settings
from django.shortcuts import render


def client_address(request) -> str | None:
    """The peer address, or behind CTIR_PROXY_COUNT proxies the address the outermost of them
    saw: each proxy appends the address it received from to X-Forwarded-For, so only the
    last CTIR_PROXY_COUNT entries are trustworthy; anything before them the client wrote."""
    hops = settings.CTIR_PROXY_COUNT
    forwarded = [a.strip() for a in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
                 if a.strip()]
    if hops and len(forwarded) >= hops:
        return forwarded[-hops]
    return request.META.get("REMOTE_ADDR")


def lockout_response(request, original_response=None, credentials=None):
    """The page a locked-out login gets (HTTP 429): why, for how long, and who can unlock."""
    username = (credentials or {}).get("username") or request.POST.get("username", "")
    return render(request, "registration/locked_out.html", {
        "username": username, "failure_limit": settings.AXES_FAILURE_LIMIT,
        "minutes": int(settings.AXES_COOLOFF_TIME.total_seconds() // 60),
    }, status=429)
