"""Marks the phrases a reader scans for first: procedure, organ or site, needle, drain.

Highlighting is a reading aid only; it never decides anything, so plain patterns suffice.
"""

import re

from django.utils.html import escape
from django.utils.safestring import mark_safe

PATTERNS = {
    "procedure": r"biops(?:y|ies|ied)|bx|aspirat\w*|drainage|drained|fna|core[s]?|sampl\w*|"
                 r"sclerotherapy|trephine|aborted|abandoned|deferred",
    "organ": r"lung|pulmonary|lobe|rul|rml|rll|lul|lll|nodule|pleura\w*|liver|hepatic|kidney|"
             r"renal|adrenal|pancrea\w*|spleen|splenic|lymph node[s]?|node|mediastin\w*|"
             r"retroperitone\w*|mesenter\w*|omentum|psoas|pelvi[cs]|vertebra\w*|sacrum|rib|"
             r"iliac|ilium|femur|humerus|sternum|scapula|bone|marrow|disc|abscess|collection|"
             r"empyema|cyst|effusion|hematoma|haematoma|biloma|urinoma|lymphocele|seroma",
    "needle": r"\d{1,2}\s?g(?:auge)?\b|coaxial|jamshidi|bone needle|drill",
    "drain": r"\d{1,2}\s?fr(?:ench)?\b|pigtail|catheter|drain\b|chest tube|chest drain",
}
_REGEX = re.compile(
    "|".join(f"(?P<{name}>\\b(?:{pattern}))" for name, pattern in PATTERNS.items()),
    re.IGNORECASE,
)


# Past this many characters the text is only escaped: a report longer than the import limit
# (stored before there was one) still renders in bounded time.
HIGHLIGHT_CHARS = 100_000


def highlight(text: str) -> str:
    """HTML of the report with key phrases in <mark class="hl-...">; the text is escaped."""
    out, last = [], 0
    for match in _REGEX.finditer(text, 0, HIGHLIGHT_CHARS):
        out.append(escape(text[last:match.start()]))
        out.append(f'<mark class="hl-{match.lastgroup}">{escape(match.group())}</mark>')
        last = match.end()
    out.append(escape(text[last:]))
    return mark_safe("".join(out))  # noqa: S308 - every piece above is escaped
