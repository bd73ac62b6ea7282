import time

from django.contrib import messages
from django.template.loader import render_to_string


class ServerTimingMiddleware:
    """Adds `Server-Timing: app;dur=<ms>` so the browser's developer tools (and the
    benchmarks) see how long Django itself took, without network or client time."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        began = time.perf_counter()
        response = self.get_response(request)
        response["Server-Timing"] = f"app;dur={(time.perf_counter() - began) * 1000:.1f}"
        return response


class HtmxMessagesMiddleware:
    """Flash messages added while answering an htmx request are sent along with the swapped
    fragment, out of band into base.html's #messages, instead of waiting for a full page
    that may never come."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if (not getattr(request, "htmx", False) or response.streaming
                or 300 <= response.status_code < 400 or "HX-Redirect" in response.headers
                or not response.get("Content-Type", "").startswith("text/html")):
            return response
        storage = messages.get_messages(request)
        if storage.used:  # the response is a whole page that showed them already
            return response
        pending = list(storage)  # reading them marks them shown
        if pending:
            response.write(render_to_string("base.html#messages",
                                            {"messages": pending, "oob": True}, request))
        return response


# Every script ctir serves is a file of its own (static/js, vendored htmx, Swagger UI's split
# view), so scripts need no 'unsafe-inline'; styles keep it for the few style="" attributes.
# data: images are the charts and Swagger UI's icons.
CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'", "script-src 'self'", "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data:", "font-src 'self'", "connect-src 'self'", "object-src 'none'",
    "base-uri 'self'", "form-action 'self'", "frame-ancestors 'none'",
])


class ContentSecurityPolicyMiddleware:
    """A Content-Security-Policy on every answer: an injected <script> or inline handler
    does not run even if some text ever slipped through unescaped."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        return response


class HeaderNulMiddleware:
    """Drops NUL characters from the request's headers before anything stores them:
    PostgreSQL refuses NUL in text, and django-axes records a login's User-Agent and Accept,
    so one odd header would turn a login into a 500."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        for name, value in list(request.META.items()):
            if name.startswith("HTTP_") and isinstance(value, str) and "\x00" in value:
                request.META[name] = value.replace("\x00", "")
        return self.get_response(request)
