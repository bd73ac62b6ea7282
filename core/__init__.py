"""The ground floor every app builds on: the job base, the task queue, the API helpers and
the charts. It imports no app of ctir (import-linter holds it at the bottom)."""
