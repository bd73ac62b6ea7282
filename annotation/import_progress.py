"""Live counters of an import job (rows checked, rows written), kept in Redis, the broker.

The writing pass runs in one transaction (all or nothing), so nothing it wrote to the
ImportJob row would be seen by the page before the commit; Redis is seen at once by every
web process. Progress is a courtesy: if Redis does not answer, the import goes on.
"""

import time

import redis
from django.conf import settings

TTL_SECONDS = 24 * 3600
WRITE_EVERY_SECONDS = 0.5


def _client():
    return redis.Redis.from_url(settings.CELERY_BROKER_URL, socket_timeout=2,
                                socket_connect_timeout=2, decode_responses=True)


def _key(job) -> str:
    # The creation time too: a database made anew reuses ids, and must not find the old
    # job's counters under them.
    return f"ctir:import:{job.pk}:{job.created.timestamp():.6f}"


class Reporter:
    """The import service's progress callback for one job: `reporter(phase, done, total)`."""

    def __init__(self, job, estimate: int):
        self.key, self.estimate = _key(job), estimate
        self.phase, self.phase_started, self.last = "", 0.0, 0.0
        self.state = {"checked": 0, "written": 0, "total": estimate}
        self.client = _client()

    def __call__(self, phase: str, done: int, total: int | None = None) -> None:
        now = time.time()
        changed = phase != self.phase
        if changed:
            self.phase, self.phase_started = phase, now
        self.state["checked" if phase == "checking" else "written"] = done
        if total is not None:
            self.state["total"] = total
        if changed or now - self.last >= WRITE_EVERY_SECONDS:
            self.flush(now)

    def flush(self, now: float | None = None) -> None:
        self.last = now or time.time()
        try:
            self.client.hset(self.key, mapping={
                **self.state, "phase": self.phase, "phase_started": self.phase_started,
                "beat": self.last})
            self.client.expire(self.key, TTL_SECONDS)
        except redis.RedisError:
            pass


def read(job) -> dict:
    """The counters as numbers; {} before the first write or when Redis does not answer."""
    try:
        raw = _client().hgetall(_key(job))
    except redis.RedisError:
        return {}
    numbers = {}
    for name, value in raw.items():
        try:
            numbers[name] = float(value) if name in ("phase_started", "beat") else int(value)
        except ValueError:
            numbers[name] = value
    return numbers
