"""The house rules that import-linter cannot see: short views, input read by forms."""

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
APPS = ["core", "accounts", "annotation", "modeling", "studies", "ctir_demo"]
VIEW_MODULES = ("views.py", "api.py", "project_views.py")


def _modules(names=None):
    for app in APPS:
        for path in sorted((ROOT / app).rglob("*.py")):
            if "migrations" not in path.parts and (names is None or path.name in names):
                yield path


def test_no_view_is_over_30_lines():
    long = []
    for path in _modules(VIEW_MODULES):
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.FunctionDef) and node.decorator_list:
                lines = node.end_lineno - node.lineno + 1
                if lines > 30:
                    long.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name} ({lines})")
    assert not long, "views over 30 lines: " + "; ".join(long)


def test_request_data_is_read_by_forms_only():
    # A membership test (`"confirm" in request.POST`) picks a button; reading a value by hand
    # skips the form's validation and its message.
    reads = re.compile(r"request\.(POST|GET)(\[|\.get\(|\.getlist\()")
    found = [f"{path.relative_to(ROOT)}:{n}" for path in _modules()
             for n, line in enumerate(path.read_text().splitlines(), 1) if reads.search(line)]
    assert not found, "request data read by hand: " + ", ".join(found)
