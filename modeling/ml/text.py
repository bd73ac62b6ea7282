"""Text preparation shared by training and inference.

Both paths must turn a report into token ids the same way, so the only entry points are
``prepare_text`` and ``encode_texts`` / ``fit_to_length``.

Long reports are cut by priority instead of plain head truncation: the category is decided
by the principal procedure (guideline rule 1), which lives in the title/procedure line and
the impression/conclusion, while history and indication sections are the least useful and
the most misleading (prior procedures, differential diagnoses). Selected pieces are kept in
their original order.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

# Priority 0: what the session was for and what it concluded (whole header name).
_KEY_SECTION = re.compile(
    r"(title|procedures?|procedures? performed|exam|examination|operation|intervention|"
    r"impressions?|conclusions?|summary|opinion|diagnosis|final diagnosis|results?|"
    r"outcome)",
    re.IGNORECASE,
)
# Priority 2: background that rule 1 says does not count (history, indication), what
# happened after the procedure (rule 2: complications do not change the category), and
# boilerplate.
_BACKGROUND_SECTION = re.compile(
    r"^(history|clinical history|clinical information|clinical details|clinical question|"
    r"indication|indications|reason|reason for (exam|examination|request|referral)|"
    r"referral|referral question|question|background|comparison|prior|previous|"
    r"allerg\w*|consent|medication|medications|anticoagulation|sedation|anaesthesia|"
    r"anesthesia|premedication|request|dose|radiation dose|operator|operators|"
    r"radiologist|complication|complications|post[- ]procedure\b.*|aftercare|plan|"
    r"follow[- ]up|recommendation|recommendations|instructions)\b",
    re.IGNORECASE,
)
# "HEADER: rest" or a short all-caps line on its own.
_HEADER = re.compile(r"^\s*([A-Za-z][A-Za-z /&()\-]{0,40}?)\s*:\s*(.*)$")
_CAPS_LINE = re.compile(r"^[A-Z][A-Z /&()\-]{2,40}$")
_SENTENCE_END = re.compile(r"(?<=[.;!?])\s+")
_SPACES = re.compile(r"[^\S\n]+")

# A piece of a line shorter than this is not worth cutting out of a longer one.
_MIN_PIECE_TOKENS = 8


def prepare_text(text: str) -> str:
    """Unicode- and whitespace-normalise a report, keeping one line per non-empty line."""
    text = unicodedata.normalize("NFKC", text or "")
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    lines = (_SPACES.sub(" ", line).strip() for line in text.split("\n"))
    return "\n".join(line for line in lines if line)


def _section_priority(header: str) -> int | None:
    if _KEY_SECTION.fullmatch(header.strip()):
        return 0
    if _BACKGROUND_SECTION.match(header):
        return 2
    return None


def _segments(text: str) -> list[tuple[int, int, int]]:
    """Split a prepared report into (start, end, priority) character spans, in order."""
    segments: list[tuple[int, int, int]] = []
    current = 1
    offset = 0
    for line_no, line in enumerate(text.split("\n")):
        header = _HEADER.match(line)
        name = header.group(1) if header else line if _CAPS_LINE.match(line) else None
        if name is not None:
            # Any other section header ("Findings:") brings back normal priority.
            current = _section_priority(name)
            current = 1 if current is None else current
        start = 0
        spans = []
        for match in _SENTENCE_END.finditer(line):
            spans.append((start, match.start()))
            start = match.end()
        spans.append((start, len(line)))
        for i, (a, b) in enumerate(spans):
            # The opening sentence is the title (or the gist of free text) unless it
            # opens a background section.
            title = line_no == 0 and i == 0 and current != 2
            segments.append((offset + a, offset + b, 0 if title else current))
        offset += len(line) + 1
    return segments


def _pieces_fast(text: str, ids: list[int], offsets) -> list[tuple[list[int], int]]:
    # Word pieces never straddle a segment boundary (segments end at whitespace), so each
    # token belongs to the segment its first character is in.
    segments = _segments(text)
    pieces: list[tuple[list[int], int]] = [([], prio) for _, _, prio in segments]
    j = 0
    for token, (begin, _) in zip(ids, offsets, strict=True):
        while j + 1 < len(segments) and begin >= segments[j + 1][0]:
            j += 1
        pieces[j][0].append(token)
    return pieces


def _select(pieces: list[tuple[list[int], int]], budget: int) -> list[int]:
    order = sorted(range(len(pieces)), key=lambda i: (pieces[i][1], i))
    kept: dict[int, list[int]] = {}
    left = budget
    for i in order:
        if left <= 0:
            break
        ids = pieces[i][0]
        if len(ids) <= left:
            kept[i] = ids
            left -= len(ids)
        elif left >= _MIN_PIECE_TOKENS:
            kept[i] = ids[:left]
            left = 0
    return [token for i in sorted(kept) for token in kept[i]]


def encode_texts(texts: Sequence[str], tokenizer, max_length: int) -> list[list[int]]:
    """Token ids (with [CLS]/[SEP]) of each report, at most ``max_length`` long.

    Reports that fit are kept whole; longer ones keep their highest-priority sentences.
    """
    cls_id, sep_id = tokenizer.cls_token_id, tokenizer.sep_token_id
    if cls_id is None or sep_id is None:
        raise ValueError("the tokenizer needs [CLS] and [SEP] tokens (a BERT tokenizer)")
    budget = max_length - 2
    if budget < _MIN_PIECE_TOKENS:
        raise ValueError(f"max_length {max_length} is too small")
    prepared = [prepare_text(text) for text in texts]
    if not prepared:
        return []
    if getattr(tokenizer, "is_fast", False):
        # One call per report with offsets is much faster than one per sentence.
        # verbose=False: long reports are cut here, by section priority, so the tokenizer's
        # "longer than the maximum ... will result in indexing errors" warning is false.
        enc = tokenizer(prepared, add_special_tokens=False, return_offsets_mapping=True,
                        verbose=False)
        encoded = []
        for text, ids, offsets in zip(
            prepared, enc["input_ids"], enc["offset_mapping"], strict=True
        ):
            if len(ids) > budget:
                ids = _select(_pieces_fast(text, ids, offsets), budget)
            encoded.append([cls_id, *ids, sep_id])
        return encoded
    # Slow (pure Python) tokenizers have no offsets: tokenise sentence by sentence.
    per_text = [[(text[a:b], prio) for a, b, prio in _segments(text)] for text in prepared]
    flat = [sentence for segments in per_text for sentence, _ in segments]
    flat_ids = (tokenizer(flat, add_special_tokens=False, verbose=False)["input_ids"]
                if flat else [])
    encoded = []
    pos = 0
    for segments in per_text:
        pieces = [(flat_ids[pos + j], prio) for j, (_, prio) in enumerate(segments)]
        pos += len(segments)
        encoded.append([cls_id, *_select(pieces, budget), sep_id])
    return encoded


def fit_to_length(text: str, tokenizer, max_length: int) -> list[int]:
    """Token ids of one report; see ``encode_texts``."""
    return encode_texts([text], tokenizer, max_length)[0]
