"""The personal API token page: make a token (shown once), see and revoke your tokens."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from . import selectors, services
from .forms import TokenCreateForm


@login_required
@require_http_methods(["GET", "POST"])
def tokens(request):
    context = _token_create(request) if request.method == "POST" else {}
    context["tokens"] = selectors.tokens_of(request.user)
    response = render(request, "accounts/tokens.html", context)
    response["Cache-Control"] = "no-store"
    return response


def _token_create(request) -> dict:
    """The new token and its value for the page, or the reason there is none."""
    form = TokenCreateForm(request.POST)
    if not form.is_valid():
        return {"form_error": f"{form.error_text()}."}
    try:
        token, raw = services.token_create(user=request.user, name=form.cleaned_data["name"])
    except services.TokenError as exc:
        return {"form_error": f"{exc}."}
    # Rendered, not redirected: the value must never land in a URL or a session.
    return {"created": token, "raw": raw}


@login_required
@require_POST
def token_revoke(request, token_id):
    # Another user's token is a 404, like any object outside one's reach.
    token = get_object_or_404(selectors.tokens_of(request.user), pk=token_id)
    services.token_revoke(token=token)
    messages.success(request, f"Token “{token.name}” ({token.prefix}…) is revoked.")
    return redirect("api_tokens")
