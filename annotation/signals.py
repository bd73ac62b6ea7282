"""Hooks other apps connect to, so annotation never imports the apps built on top of it."""

from django.dispatch import Signal

# Sent inside the label's transaction when a project's count of reference labels written
# passes a multiple of its `fast_retrain_every`, with `project_id`. The modeling app starts
# a fast retrain (after the commit) if one is due.
reference_labels_due = Signal()
