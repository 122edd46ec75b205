"""Short forms of a profile's free text, for places that show only a glimpse of it (result cards)."""

from __future__ import annotations

import re

EXCERPT_LENGTH = 200
ELLIPSIS = "…"
# A sentence ends at . ! or ? (perhaps closed by a quote or bracket) before a space and a capital, digit or quote.
SENTENCE_END = re.compile(r"(?<=[.!?])[\"'”’)\]]*\s+(?=[A-Z0-9\"'“‘(])")
# Words after which a full stop does not end a sentence ("Dr. Lee", "e.g. work").
ABBREVIATIONS = {"dr", "mr", "mrs", "ms", "mx", "prof", "st", "e.g", "i.e", "etc", "vs", "jr", "sr", "no", "approx"}


def sentences(text: str) -> list[str]:
    """The sentences of a text whose white space is already collapsed, in order."""
    found, start = [], 0
    for boundary in SENTENCE_END.finditer(text):
        last_word = text[start : boundary.start()].rsplit(" ", 1)[-1].rstrip(".").lower()
        if last_word in ABBREVIATIONS or len(last_word) == 1:  # "Dr." or an initial ("J. Smith")
            continue
        found.append(text[start : boundary.start()] + boundary.group().strip())
        start = boundary.end()
    if start < len(text):
        found.append(text[start:])
    return found


def excerpt(text: str, limit: int = EXCERPT_LENGTH) -> str:
    """The opening of a text in at most `limit` characters: whole sentences, else cut after a word with "…".

    Whole sentences are kept while they fit, and a complete sentence needs no
    ellipsis. When what fits is under half the limit (a short first sentence,
    or one too long to fit at all), the next sentence is cut after its last
    whole word that fits and "…" ends the excerpt. Line breaks and runs of
    spaces become single spaces.
    """
    flat = " ".join(text.split())
    if len(flat) <= limit:
        return flat
    kept = ""
    for sentence in sentences(flat):
        candidate = f"{kept} {sentence}".strip()
        if len(candidate) > limit:
            break
        kept = candidate
    if len(kept) >= limit // 2:
        return kept
    return _cut_at_word(flat, limit - len(ELLIPSIS)) + ELLIPSIS


def _cut_at_word(text: str, limit: int) -> str:
    """At most `limit` characters of `text`, ending on a whole word without trailing punctuation."""
    head = text[: limit + 1]
    if " " in head:
        head = head.rsplit(" ", 1)[0]  # the character past the limit tells whether the last word was whole
    else:
        head = head[:limit]  # one word longer than the limit (a web address): cut inside it
    return head.rstrip(" .,;:–—-(")
