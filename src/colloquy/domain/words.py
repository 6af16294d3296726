"""The words of free text (an agent's task or error message) that a full-text search asks for.

Words are runs of letters and digits, so quotes, ``*``, ``:``, ``&``, ``!`` and operator words
such as ``NEAR`` or ``OR`` in the text are never syntax: each word is passed to the search
engine quoted (or as a lexeme), and ``near`` is just a word. Words too common to tell units
apart are dropped, and so are repeats; the count is bounded so that a query's cost is.
"""

import re

# Most words one query searches for: a 1,000-character ``q`` rarely has more distinct ones.
MAX_QUERY_WORDS = 48
# Longer runs are not words an index helps with (hashes, base64).
MAX_WORD_LENGTH = 40

# Letters and digits; ``_`` separates words, as the engines' tokenizers split at it.
_WORD = re.compile(r"[^\W_]+")
# English function words, and words every pitfall write-up uses.
_STOP_TEXT = """
    a about above after again against all also am an and any are as at be because been
    before being below between both but by can cannot could did do does doing don down
    during each few for from further get gets got had has have having he her here hers
    herself him himself his how i if in into is it its itself just let like me more most my
    myself no nor not now of off on once only or other our ours ourselves out over own same
    she should so some such than that the their theirs them themselves then there these they
    this those through to too under until up use used uses using very via want was we were
    what when where which while who whom why will with would you your yours yourself
    yourselves
"""
STOP_WORDS = frozenset(_STOP_TEXT.split())


def text_words(text: str, limit: int = MAX_QUERY_WORDS) -> list[str]:
    """The searchable words of ``text``: lower case, no stop words or repeats, in order,
    at most ``limit``."""
    words: dict[str, None] = {}
    for match in _WORD.finditer(text.lower()):
        word = match.group()
        if word in STOP_WORDS or not 1 < len(word) <= MAX_WORD_LENGTH:
            continue
        words.setdefault(word, None)
        if len(words) == limit:
            break
    return list(words)
