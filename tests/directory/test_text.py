"""A bio's excerpt for result cards: whole sentences when they fit, else a cut after a whole word with "…"."""

from __future__ import annotations

import pytest

from directory.text import EXCERPT_LENGTH, excerpt, sentences

LONG_SECOND = (
    "I help adults with anxiety and depression. In our sessions we look at the relationships that matter most "
    "to you, the changes you are living through, and the conflicts that keep coming back, and we practise new "
    "ways of asking for what you need."
)


def test_a_short_bio_is_shown_whole_with_its_white_space_collapsed() -> None:
    assert excerpt("I offer IPT.\n\n  Weekly   sessions.") == "I offer IPT. Weekly sessions."
    assert excerpt("") == ""


def test_whole_sentences_are_kept_when_they_fill_the_excerpt_without_an_ellipsis() -> None:
    first, second = "A" * 90 + " ends here.", "B" * 80 + " also ends."
    text = f"{first} {second} A third sentence that would not fit."
    assert excerpt(text) == f"{first} {second}"
    assert len(excerpt(text)) <= EXCERPT_LENGTH


def test_a_short_first_sentence_is_followed_by_the_next_cut_after_a_whole_word() -> None:
    shown = excerpt(LONG_SECOND)
    assert shown.startswith("I help adults with anxiety and depression. In our sessions")
    assert shown.endswith("…") and len(shown) <= EXCERPT_LENGTH
    last_word = shown.removesuffix("…").split()[-1]
    assert f" {last_word} " in LONG_SECOND or f" {last_word}," in LONG_SECOND  # a whole word of the bio
    assert not shown.removesuffix("…").endswith((",", " "))


def test_one_long_sentence_is_cut_after_a_whole_word() -> None:
    text = " ".join(["interpersonal"] * 40)
    shown = excerpt(text)
    assert shown.endswith("interpersonal…") and len(shown) <= EXCERPT_LENGTH


def test_a_word_longer_than_the_excerpt_is_cut_inside_it() -> None:
    shown = excerpt("https://example.org/" + "a" * 400)
    assert len(shown) == EXCERPT_LENGTH and shown.endswith("…")


def test_abbreviations_and_initials_do_not_end_a_sentence() -> None:
    text = "I trained with Dr. Lee and J. Smith in New York. I see adults. " + "More words here. " * 20
    assert sentences(" ".join(text.split()))[:2] == [
        "I trained with Dr. Lee and J. Smith in New York.",
        "I see adults.",
    ]
    assert excerpt(text).startswith("I trained with Dr. Lee and J. Smith in New York. I see adults.")


@pytest.mark.parametrize("limit", [40, 80, 200])
def test_the_excerpt_never_exceeds_its_limit(limit: int) -> None:
    assert len(excerpt(LONG_SECOND * 3, limit)) <= limit
