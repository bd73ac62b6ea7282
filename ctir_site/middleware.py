import time


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
