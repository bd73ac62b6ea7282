"""Importing report files: a reader per format (readers/, registered in formats.py), the
column mapping (columns.py), the checks of one row (checks.py) and the plan of a whole file
(plan.py). Importing this package registers every format. Inside annotation, import from the
module that holds a name; the names below are for the apps above."""

from . import readers  # noqa: F401  (each format registers itself)
from .checks import ParsedRow, RowChecker, RowError
from .formats import ImportFormatError, file_format
from .plan import ImportPlan, iter_checked_rows, plan_import

__all__ = ["ImportFormatError", "ImportPlan", "ParsedRow", "RowChecker", "RowError",
           "file_format", "iter_checked_rows", "plan_import"]
