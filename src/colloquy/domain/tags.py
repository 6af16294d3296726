"""Tag wording: the words a tag stands for, whatever its proposer's spelling.

Agents tag the same thing differently (``k8s-probes``, ``kubernetes``, ``python3.11``,
``error_handling``, ``timeouts``). Hybrid ranking compares the words below instead of the
tags: separators split a tag into words, a version suffix is dropped, plurals become
singular, and aliases (an admin-editable table, ``DEFAULT_ALIASES`` to start with) name each
thing once. Stored units keep their words without aliases; a query asks for every variant of
each of its words (``Aliases.variants``), so an edited alias applies to stored units at once,
with nothing to re-index. cq ranking never uses any of this: it compares the tags as stored.
"""

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from colloquy.domain.bounds import text_problem

# Longest alias or canonical word an admin may store.
MAX_ALIAS_LENGTH = 64
# Most aliases the table holds: every ranked query reads it whole (from a short-lived copy).
MAX_ALIASES = 1_000

_SEPARATORS = re.compile(r"[\s\-_./:]+")
# A version suffix after a stem of at least four characters: ``python3.11``, ``django4``,
# ``oauth2``, ``node-18``. Shorter stems keep their digits (``s3``, ``utf8``, ``ipv6``, ``es2015``,
# ``arm64``, ``win32``), except the few below that only ever carry a version (``css3``, ``py3``).
_VERSIONED = re.compile(r"^(?P<stem>[a-z][a-z+#]{1,})[-_. ]?v?\d+(?:[._]\d+)*$")
_SHORT_VERSIONED = frozenset({"css", "gcc", "go", "jdk", "npm", "php", "py", "ssl", "tls", "vue"})
# Words whose final ``s`` is not a plural (their own plural ends in ``es``: ``aliases``).
_NOT_PLURAL = frozenset(
    {
        "alias", "atlas", "aws", "axios", "bias", "bus", "canvas", "chaos", "cors", "css", "dns",
        "https", "ios", "iris", "jenkins", "js", "k8s", "kubernetes", "lens", "macos", "news",
        "nginx", "os", "pandas", "postgres", "redis", "sass", "series", "species", "status",
        "tls", "ts", "windows", "yes",
    }
)  # fmt: skip
# Plurals the rules below would get wrong, each mapped to its singular.
_IRREGULAR = {
    "caches": "cache", "cookies": "cookie", "cpus": "cpu", "gpus": "gpu", "indices": "index",
    "menus": "menu", "movies": "movie",
}  # fmt: skip

# Shipped aliases: a word agents use -> the word colloquy files it under.
DEFAULT_ALIASES: Mapping[str, str] = MappingProxyType(
    {
        "k8s": "kubernetes",
        "kube": "kubernetes",
        "postgres": "postgresql",
        "pg": "postgresql",
        "psql": "postgresql",
        "js": "javascript",
        "ecmascript": "javascript",
        "ts": "typescript",
        "py": "python",
        "golang": "go",
        "gh": "github",
        "nodejs": "node",
        "reactjs": "react",
        "nextjs": "next",
        "yml": "yaml",
        "tf": "terraform",
        "mongo": "mongodb",
        "rb": "ruby",
        "rs": "rust",
        "utf8": "utf",
        "env": "environment",
        "config": "configuration",
        "auth": "authentication",
        "authn": "authentication",
        "authz": "authorization",
        "db": "database",
        "repo": "repository",
        "dep": "dependency",
    }
)


def singular(word: str) -> str:
    """English plural to singular for the regular cases tags use; anything else unchanged."""
    if len(word) <= 3 or word in _NOT_PLURAL or not word.endswith("s") or word.endswith("js"):
        return word
    if word in _IRREGULAR:
        return _IRREGULAR[word]
    if word.endswith("es") and word[:-2] in _NOT_PLURAL:
        return word[:-2]
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith(("sses", "xes", "ches", "shes", "zes")):
        return word[:-2]
    # ``analysis`` and ``status`` are singular; ``apis`` is not.
    if word.endswith(("ss", "us", "sis")):
        return word
    return word[:-1]


def _unversioned(text: str) -> str:
    versioned = _VERSIONED.match(text)
    if versioned and (len(versioned["stem"]) > 3 or versioned["stem"] in _SHORT_VERSIONED):
        return versioned["stem"]
    return text


def _word(word: str) -> str:
    """``word`` without a version suffix, singular, until neither changes it (``kubes8s``
    -> ``kubes8`` -> ``kube``), so that a stored word maps to itself."""
    while True:
        done = singular(_unversioned(word))
        if done == word:
            return word
        word = done  # shorter each time: this ends


def tag_words(tag: str) -> list[str]:
    """The words a tag stands for, before aliases: lower case, split at separators, without
    a version suffix, each singular; in order, without repeats."""
    text = _unversioned(tag.strip().lower())  # ``python 3.11``: before the space splits it
    return list(dict.fromkeys(_word(w) for w in _SEPARATORS.split(text) if w))


def alias_word(text: str) -> str:
    """An alias or canonical word as the table stores it: one tag word. Raises ValueError
    for text that is empty, too long, or more than one word."""
    if len(text) > MAX_ALIAS_LENGTH:
        raise ValueError(f"an alias must be at most {MAX_ALIAS_LENGTH} characters")
    problem = text_problem(text)
    if problem is not None:
        raise ValueError(f"an alias {problem}")
    words = tag_words(text)
    if len(words) != 1:
        raise ValueError(f"an alias must be one word, not {text!r}")
    if len(words[0]) > MAX_ALIAS_LENGTH:  # lower case can be longer: ``İ`` is two characters
        raise ValueError(f"an alias must be at most {MAX_ALIAS_LENGTH} characters")
    return words[0]


@dataclass(frozen=True)
class Aliases:
    """An alias table: each alias word names one canonical word (never another alias)."""

    canonical: Mapping[str, str] = field(default_factory=lambda: DEFAULT_ALIASES)
    # canonical word -> every word for it, itself included
    _groups: Mapping[str, frozenset[str]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        groups: dict[str, set[str]] = {}
        for alias, word in self.canonical.items():
            groups.setdefault(word, {word}).add(alias)
        object.__setattr__(self, "_groups", {w: frozenset(g) for w, g in groups.items()})

    def resolve(self, word: str) -> str:
        return self.canonical.get(word, word)

    def variants(self, word: str) -> frozenset[str]:
        """Every word that means what ``word`` does, ``word`` included."""
        word = self.resolve(word)
        return self._groups.get(word, frozenset({word}))

    def query_words(self, tags: Iterable[str]) -> list[frozenset[str]]:
        """A query's tags as words, each with its variants; one entry per distinct meaning."""
        meanings: dict[str, frozenset[str]] = {}
        for tag in tags:
            for word in tag_words(tag):
                meanings.setdefault(self.resolve(word), self.variants(word))
        return list(meanings.values())


def check_alias(alias: str, canonical: str, table: Mapping[str, str]) -> tuple[str, str]:
    """An admin's new alias as stored, checked against ``table`` (the aliases already
    stored): no alias of itself, and no chains, so one lookup always resolves a word."""
    alias, canonical = alias_word(alias), alias_word(canonical)
    if alias == canonical:
        raise ValueError(f"{alias!r} cannot be an alias of itself")
    if canonical in table:
        raise ValueError(f"{canonical!r} is itself an alias of {table[canonical]!r}; use that")
    if alias in table.values():
        raise ValueError(f"{alias!r} already has aliases of its own; it cannot become one")
    return alias, canonical
