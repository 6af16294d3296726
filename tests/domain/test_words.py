"""Free-text words (``domain.words``): whatever an agent sends as ``q``, the words a full-text
search asks for are plain lower-case words, never syntax, and bounded in number."""

import pytest

from colloquy.domain.words import MAX_QUERY_WORDS, MAX_WORD_LENGTH, STOP_WORDS, text_words


def test_words_are_lower_case_without_stop_words_or_repeats():
    text = "Why does the Postgres connection pool time out? The pool is full."
    assert text_words(text) == ["postgres", "connection", "pool", "time", "full"]


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ('"quoted phrase" "unbalanced', ["quoted", "phrase", "unbalanced"]),
        ("prefix* *star", ["prefix", "star"]),
        ("NEAR(timeout retry, 5)", ["near", "timeout", "retry"]),
        ("summary:timeout detail : x", ["summary", "timeout", "detail"]),
        ("a&b | c && !d !!", []),  # one-letter words only
        ("cache & invalidation !important", ["cache", "invalidation", "important"]),
        ("OR AND NOT", []),  # operator words are stop words here
        ("-exclude +include ^start (group)", ["exclude", "include", "start", "group"]),
        ("col1:'x' -- '; DROP TABLE units; --", ["col1", "drop", "table", "units"]),
        ("error_handling __init__", ["error", "handling", "init"]),
        ("k8s-probes python3.11", ["k8s", "probes", "python3", "11"]),
    ],
)
def test_operators_and_quotes_are_never_part_of_a_word(text, words):
    assert text_words(text) == words


@pytest.mark.parametrize("text", ["", "   ", "!!!...\"\"'':;*&|()^~-+", "\x00\t\n", "a I x"])
def test_text_without_words_gives_none(text):
    assert text_words(text) == []


def test_every_word_is_letters_and_digits_only():
    text = "".join(chr(c) for c in range(32, 0x2FF)) * 3
    for word in text_words(text):
        assert word.isalnum(), word


def test_non_ascii_letters_are_words():
    assert text_words("Café naïve Straße") == ["café", "naïve", "straße"]


def test_overlong_runs_are_not_words():
    longest = "b" * MAX_WORD_LENGTH
    assert text_words(f"{'a' * (MAX_WORD_LENGTH + 1)} {longest} deadlock") == [longest, "deadlock"]


def test_a_long_text_gives_a_bounded_count_of_words_in_order():
    text = " ".join(f"word{i}" for i in range(1_000))
    assert len(text) > 1_000
    words = text_words(text)
    assert words == [f"word{i}" for i in range(MAX_QUERY_WORDS)]
    assert text_words(text, limit=3) == ["word0", "word1", "word2"]


def test_a_repeated_word_counts_once_towards_the_bound():
    text = "timeout " * 500 + "retry"
    assert text_words(text) == ["timeout", "retry"]


def test_stop_words_are_lower_case_words():
    assert all(w == w.lower() and w.isalpha() for w in STOP_WORDS)
    assert {"the", "and", "or", "not"} <= STOP_WORDS
