"""Marks the phrases a reader scans for first: procedure, organ or site, needle, drain.

Highlighting is a reading aid only; it never decides anything, so plain patterns suffice.
A term in the history or indication, or a negated one ("aerated lung was not crossed"), is
marked apart (labeling guideline, rules 1 and 6: neither decides the category). Negation is
NegEx-style: a trigger within a few words before the term (or a few after it) in the same
clause. English only: the term patterns themselves are English.
"""

import bisect
import itertools
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
# Whole words, plurals included: "disc" is not marked in "discussion" nor "rib" in "ribbon".
_END = {"procedure": r"\b", "organ": r"(?:e?s)?\b", "needle": "", "drain": ""}
_REGEX = re.compile(
    "|".join(f"(?P<{name}>\\b(?:{pattern}){_END[name]})" for name, pattern in PATTERNS.items()),
    re.IGNORECASE,
)

# Past this many characters the text is only escaped: a report longer than the import limit
# (stored before there was one) still renders in bounded time.
HIGHLIGHT_CHARS = 100_000

HISTORY, NEGATED = "history", "negated"
TITLES = {HISTORY: "mentioned in the history or indication", NEGATED: "negated"}

# --- sections -------------------------------------------------------------------------------
# Headings whose section is history or indication; every other heading ends such a section.
_HISTORY_HEADING = (
    r"(?:(?:clinical|past|relevant|pertinent|medical|previous)\s+)?(?:medical\s+)?history"
    r"|(?:clin(?:ical)?\s+)?hx|pmh|dx\s*/\s*indic|(?:clinical\s+)?indications?|ind"
    r"|clinical\s+(?:information|info|details|question|background|notes?)|background"
    r"|reasons?\s+for\s+(?:the\s+)?(?:exam(?:ination)?|referral|request|study|procedure)"
    r"|reason|referral\s+(?:question|reason)|purpose|objective|request"
)
_OTHER_HEADING = (
    r"procedure(?:\s+(?:performed|details|note))?|technique|method|description|examination"
    r"|exam|findings|ct\s+findings|planning\s+ct|complications?|outcome|impression|summary"
    r"|conclusions?|opinion|specimens?|samples?|(?:radiation\s+)?dose(?:\s+report)?|plan"
    r"|recommendations?|aftercare|post-procedure(?:\s+instructions)?|consent|sedation"
    r"|an(?:a)?esthesia|target|approach|device|result|comparison|attestation|time-out"
)
_HEADING = re.compile(
    rf"(?P<history>\b(?:{_HISTORY_HEADING}))\s*[:=]|(?P<other>\b(?:{_OTHER_HEADING}))\s*[:=]",
    re.IGNORECASE,
)
# A heading that opens a line, by any name ("Planning CT:", "CPT:"), also ends a history
# section; one alone on its line ("REFERRAL QUESTION") opens the section below it.
_LINE_HEADING = re.compile(r"[ \t]*(?:\d+[.)][ \t]*)?[A-Za-z][A-Za-z /&()-]{0,30}[:=]")
_ALONE_HISTORY = re.compile(rf"[ \t]*(?:{_HISTORY_HEADING})[ \t]*:?\s*$", re.IGNORECASE)
_ALONE_HEADING = re.compile(r"[ \t]*[A-Z][A-Z /&-]{2,30}[ \t]*:?\s*$")
# Dictated or RIS lines name the heading without a colon: "indication growing nodule".
_BARE_HISTORY = re.compile(
    r"[ \t]*(?:clinical\s+)?(?:indication|history|hx)\b(?!\s+of\b)", re.IGNORECASE)
# "? metastasis" asks; it ends no sentence.
_SENTENCE_END = re.compile(r"(?<![\s:])[.!?](?=\s|$)")


def _history_sections(text: str) -> list[tuple[int, int]]:
    """Character ranges of history and indication sections."""
    lines = text.split("\n")
    starts = list(itertools.accumulate((len(line) + 1 for line in lines[:-1]), initial=0))
    heads = [bool(_LINE_HEADING.match(line) or _ALONE_HEADING.match(line)
                  or _ALONE_HISTORY.match(line)) for line in lines]
    # Headings on two lines or more: a structured report, where a section is a line or a
    # block of lines. In prose an "Indication:" only heads its own sentence.
    structured = sum(heads) >= 2

    def block_end(i: int) -> int:
        """End of the lines after line i, up to a blank line or the next heading."""
        j = i + 1
        while j < len(lines) and lines[j].strip() and not heads[j]:
            j += 1
        return starts[j - 1] + len(lines[j - 1])

    def wrapped(i: int) -> bool:
        """Line i goes on in the next line (a RIS export wraps at a fixed width)."""
        return (i + 1 < len(lines) and bool(lines[i + 1].strip()) and not heads[i + 1]
                and not _SENTENCE_END.search(lines[i].rstrip()[-1:] or "."))

    spans = []
    for i, line in enumerate(lines):
        if _ALONE_HISTORY.match(line):
            spans.append((starts[i], block_end(i)))
            continue
        headings = list(_HEADING.finditer(line))
        for k, heading in enumerate(headings):
            if not heading.group("history"):
                continue
            end = headings[k + 1].start() if k + 1 < len(headings) else len(line)
            if not structured:
                stop = _SENTENCE_END.search(line, heading.end(), end)
                end = stop.end() if stop else end
            elif end == len(line) and wrapped(i):
                spans.append((starts[i] + heading.start(), block_end(i)))
                continue
            spans.append((starts[i] + heading.start(), starts[i] + end))
        if not headings and _BARE_HISTORY.match(line):
            spans.append((starts[i], starts[i] + len(line)))
    return spans


# --- NegEx-style triggers -------------------------------------------------------------------
_WORD = re.compile(r"\w+(?:[-/'’]\w+)*")
# A clause ends at punctuation (not a decimal point), a line break or a joining word.
_CLAUSE_END = re.compile(
    r"[;:!?,|()\n]|\.(?!\d)|\s-\s|\b(?:and|but|however|although|though|except|which|as|because"
    r"|since|so|whereas|while|then|and\s+then|now)\b",
    re.IGNORECASE,
)
# Triggers are whole words: "old" is no trigger inside "67-year-old", nor "post" in
# "post-procedure".
_B, _E = r"(?<![\w/'’-])", r"(?![\w/'’-])"
_NEG_BEFORE = re.compile(
    _B + r"(?:no|not|without|never|neither|nor|absence\s+of|absent|free\s+of|negative\s+for"
    r"|ruled\s+out|avoid(?:ed|ing|s)?|declined|deferred|cancelled"
    r"|refused|contraindicat\w+)" + _E + r"(?!\s+(?:only|change|increase|longer\s+than))",
    re.IGNORECASE,
)
_NEG_AFTER = re.compile(
    _B + r"(?:(?:was|were|is|are|has\s+been|have\s+been|had\s+been|be)\s+)?"
    r"(?:(?:not|never)\s+(?:crossed|traversed|transgressed|breached|entered|punctured"
    r"|performed|done|attempted|required|needed|necessary|indicated|placed|inserted|left"
    r"|sampled|biopsied|drained|aspirated|possible|feasible|undertaken|carried\s+out"
    r"|involved|pursued|seen|identified|found|targeted)"
    r"|avoided|deferred|declined|cancelled|ruled\s+out|excluded)" + _E,
    re.IGNORECASE,
)
_HIST_BEFORE = re.compile(
    _B + r"(?:history\s+of|h/o|hx(?:\s+of)?|fhx|pmhx?|known|previous(?:ly)?|prior"
    r"|past\s+(?:medical\s+)?history\s+of|status\s+post|s/p|formerly|recent(?:ly)?"
    r"|earlier)" + _E,
    re.IGNORECASE,
)
_HIST_AFTER = re.compile(
    _B + r"(?:previously|in\s+the\s+past|earlier|\d+\s+(?:days?|weeks?|months?|years?)\s+ago"
    r"|in\s+(?:19|20)\d\d)" + _E,
    re.IGNORECASE,
)
# The alternative not taken is the next word or two: "rather than drainage of the renal cyst"
# negates the drainage, not the cyst.
_NEG_JUST_BEFORE = re.compile(_B + r"(?:rather\s+than|instead\s+of)" + _E, re.IGNORECASE)
# "old" and "healed" only right before the term: "old vertebral fractures", not "old blood
# was aspirated".
_HIST_JUST_BEFORE = re.compile(_B + r"(?:old|healed)" + _E, re.IGNORECASE)
# A bare year right after the term dates an earlier procedure: "lung bx 2017".
_YEAR = re.compile(_B + r"(?:19|20)\d\d" + _E)
# How many words may stand between a trigger and its term.
NEG_BEFORE_WORDS, NEG_AFTER_WORDS, HISTORY_WORDS = 5, 6, 6
_WINDOW_WORDS = 12  # the most words a check looks at on either side


class _Clauses:
    """The words of a text and where its clauses end, found once for every term."""

    def __init__(self, text: str, limit: int):
        ends = list(_CLAUSE_END.finditer(text, 0, limit))
        self.end_starts = [m.start() for m in ends]
        self.end_ends = [m.end() for m in ends]
        words = list(_WORD.finditer(text, 0, limit))
        self.word_starts = [w.start() for w in words]
        self.words = [w.group() for w in words]

    def before(self, start: int) -> list[str]:
        """The words of the term's clause before it (the nearest last)."""
        i = bisect.bisect_right(self.end_ends, start)
        clause = self.end_ends[i - 1] if i else 0
        lo = max(bisect.bisect_left(self.word_starts, clause),
                 bisect.bisect_left(self.word_starts, start) - _WINDOW_WORDS)
        return self.words[lo:bisect.bisect_left(self.word_starts, start)]

    def after(self, end: int) -> list[str]:
        """The words of the term's clause after it."""
        i = bisect.bisect_left(self.end_starts, end)
        lo = bisect.bisect_left(self.word_starts, end)
        hi = lo + _WINDOW_WORDS
        if i < len(self.end_starts):
            hi = min(hi, bisect.bisect_left(self.word_starts, self.end_starts[i]))
        return self.words[lo:hi]


def _within(pattern: re.Pattern, words: list[str], n: int) -> bool:
    """Whether the trigger starts within n words after the term."""
    found = pattern.search(" ".join(words))
    return bool(found) and found.string[:found.start()].count(" ") <= n


def _context(before: list[str], after: list[str]) -> str:
    """HISTORY, NEGATED or "" for a term, from the words of its clause around it."""
    if (_HIST_BEFORE.search(" ".join(before[-HISTORY_WORDS:]))
            or _HIST_JUST_BEFORE.search(" ".join(before[-2:]))
            or _within(_HIST_AFTER, after, HISTORY_WORDS) or _within(_YEAR, after[:2], 1)):
        return HISTORY
    if (_NEG_BEFORE.search(" ".join(before[-NEG_BEFORE_WORDS:]))
            or _NEG_JUST_BEFORE.search(" ".join(before[-4:]))
            or _within(_NEG_AFTER, after, NEG_AFTER_WORDS)):
        return NEGATED
    return ""


def marks(text: str) -> list[tuple[int, int, str, str]]:
    """(start, end, kind, context) of every marked term; context is HISTORY, NEGATED or ""."""
    sections = sorted(_history_sections(text[:HIGHLIGHT_CHARS]))
    starts = [a for a, _ in sections]
    reach = list(itertools.accumulate((b for _, b in sections), max))
    clauses = _Clauses(text, HIGHLIGHT_CHARS + 200)
    out = []
    for m in _REGEX.finditer(text, 0, HIGHLIGHT_CHARS):
        i = bisect.bisect_right(starts, m.start())
        if i and reach[i - 1] > m.start():
            context = HISTORY
        else:
            context = _context(clauses.before(m.start()), clauses.after(m.end()))
        out.append((m.start(), m.end(), m.lastgroup, context))
    return out


def highlight(text: str) -> str:
    """HTML of the report with key phrases in <mark class="hl-...">; the text is escaped."""
    out, last = [], 0
    for start, end, kind, context in marks(text):
        out.append(escape(text[last:start]))
        if context:
            out.append(f'<mark class="hl-{kind} hl-{context}" title="{TITLES[context]}">'
                       f'{escape(text[start:end])}</mark>')
        else:
            out.append(f'<mark class="hl-{kind}">{escape(text[start:end])}</mark>')
        last = end
    out.append(escape(text[last:]))
    return mark_safe("".join(out))  # noqa: S308 - every piece above is escaped
