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
