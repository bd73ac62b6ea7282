"""Hooks other apps connect to, so annotation never imports the apps built on top of it."""

from django.dispatch import Signal

# Sent by `manage.py seed_demo` after the demo cohort and users exist, with `project`.
# The studies app adds its demo reader study here.
demo_seeded = Signal()
