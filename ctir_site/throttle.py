"""Login throttling (django-axes): its backend, the client address it counts, the lockout
page."""

from axes.backends import AxesStandaloneBackend
from django.conf import settings
from django.shortcuts import render


class LoginThrottle(AxesStandaloneBackend):
    """django-axes' lockout check for every login that comes with a request: the login page,
    the Django admin's. authenticate() without one (the test client's login(), a shell) is
    no login over the web, and axes would refuse it outright instead of checking it."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)


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


def client_username(request, credentials=None) -> str:
    """The username a login tried, as django-axes records it: cut to what a username can be
    (150 characters) and without NUL, so a 300-character or odd name is a failed login, not
    a database error in axes' 255-character column."""
    username = (credentials or {}).get("username")
    if username is None:
        username = request.POST.get("username", "") if request is not None else ""
    return str(username).replace("\x00", "")[:150]
