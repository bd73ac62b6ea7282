"""The personal API token page: make a token (shown once), see and revoke your tokens."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from . import selectors, services


@login_required
@require_http_methods(["GET", "POST"])
def tokens(request):
    context = {}
    if request.method == "POST":
        try:
            token, raw = services.token_create(user=request.user,
                                               name=request.POST.get("name", ""))
        except services.TokenError as exc:
            context["form_error"] = f"{exc}."
        else:
            # Rendered, not redirected: the value must never land in a URL or a session.
            context["created"], context["raw"] = token, raw
    context["tokens"] = selectors.tokens_of(request.user)
    response = render(request, "accounts/tokens.html", context)
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_POST
def token_revoke(request, token_id):
    # Another user's token is a 404, like any object outside one's reach.
    token = get_object_or_404(selectors.tokens_of(request.user), pk=token_id)
    services.token_revoke(token=token)
    messages.success(request, f"Token “{token.name}” ({token.prefix}…) is revoked.")
    return redirect("api_tokens")
