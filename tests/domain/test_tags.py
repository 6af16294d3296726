"""Tag wording (``domain.tags``): the words a tag stands for, whatever its proposer's spelling,
and the alias table's rules."""

import pytest

from colloquy.domain.tags import (
    DEFAULT_ALIASES,
    MAX_ALIAS_LENGTH,
    Aliases,
    alias_word,
    check_alias,
    singular,
    tag_words,
)


@pytest.mark.parametrize(
    ("tag", "words"),
    [
        ("k8s-probes", ["k8s", "probe"]),
        ("error_handling", ["error", "handling"]),
        ("Vue.js", ["vue", "js"]),
        ("ci/cd", ["ci", "cd"]),
        ("a:b", ["a", "b"]),
        ("  Spaced   Out  ", ["spaced", "out"]),
        ("--__..", []),
        ("", []),
        ("retry-retries", ["retry"]),  # repeats once, in order
    ],
)
def test_separators_split_a_tag_into_lower_case_words(tag, words):
    assert tag_words(tag) == words


@pytest.mark.parametrize(
    ("tag", "words"),
    [
        ("python3.11", ["python"]),
        ("Python-3.12", ["python"]),
        ("python 3", ["python"]),
        ("django4", ["django"]),
        ("oauth2", ["oauth"]),
        ("node-18", ["node"]),
        ("node-v18", ["node"]),
        ("http2", ["http"]),
        ("html5", ["html"]),
        # Short stems whose digits are part of the name stay as they are...
        ("s3", ["s3"]),
        ("utf8", ["utf8"]),
        ("ipv6", ["ipv6"]),
        ("es2015", ["es2015"]),
        ("arm64", ["arm64"]),
        ("win32", ["win32"]),
        ("h2", ["h2"]),
        ("x86", ["x86"]),
        # ...except the few short stems that only ever carry a version.
        ("css3", ["css"]),
        ("py3", ["py"]),
        ("vue-3", ["vue"]),
        ("go1.21", ["go"]),
        ("tls1.3", ["tls"]),
    ],
)
def test_a_version_suffix_is_dropped_but_short_stems_keep_their_digits(tag, words):
    assert tag_words(tag) == words


@pytest.mark.parametrize(
    ("plural", "word"),
    [
        ("timeouts", "timeout"),
        ("probes", "probe"),
        ("queries", "query"),
        ("policies", "policy"),
        ("dependencies", "dependency"),
        ("classes", "class"),
        ("boxes", "box"),
        ("matches", "match"),
        ("crashes", "crash"),
        ("apis", "api"),
        ("databases", "database"),
        ("releases", "release"),
        # Plurals the regular rules would get wrong.
        ("caches", "cache"),
        ("cookies", "cookie"),
        ("gpus", "gpu"),
        ("aliases", "alias"),
        ("statuses", "status"),
        ("buses", "bus"),
    ],
)
def test_plurals_become_singular(plural, word):
    assert singular(plural) == word
    assert tag_words(plural) == [word]
    assert tag_words(word) == [word]  # the singular maps to itself: both spellings meet


@pytest.mark.parametrize(
    "word",
    [
        "kubernetes", "postgres", "redis", "status", "analysis", "address", "https", "cors",
        "aws", "dns", "windows", "macos", "ios", "alias", "canvas", "pandas", "axios",
        "jenkins", "series", "species", "news", "express", "class", "ids", "os", "js", "k8s",
        "nodejs", "reactjs",
    ],
)  # fmt: skip
def test_words_whose_final_s_is_no_plural_stay(word):
    assert singular(word) == word


def test_default_aliases_map_to_canonical_words_that_are_no_aliases():
    assert DEFAULT_ALIASES["k8s"] == "kubernetes"
    assert DEFAULT_ALIASES["postgres"] == "postgresql"
    for alias, canonical in DEFAULT_ALIASES.items():
        assert canonical not in DEFAULT_ALIASES, canonical  # no chains
        assert alias_word(alias) == alias  # stored as the tag word it is
        assert alias_word(canonical) == canonical


def test_variants_are_every_word_of_one_meaning():
    aliases = Aliases()
    postgres = frozenset({"postgresql", "postgres", "pg", "psql"})
    assert aliases.variants("postgres") == postgres
    assert aliases.variants("postgresql") == postgres
    assert aliases.resolve("pg") == "postgresql"
    assert aliases.resolve("mysql") == "mysql"
    assert aliases.variants("mysql") == frozenset({"mysql"})


def test_query_words_give_one_entry_per_meaning():
    aliases = Aliases({"k8s": "kubernetes", "kube": "kubernetes", "pg": "postgresql"})
    words = aliases.query_words(["k8s-probes", "Kubernetes", "timeouts", "PG", "postgresql15"])
    assert words == [
        frozenset({"kubernetes", "k8s", "kube"}),
        frozenset({"probe"}),
        frozenset({"timeout"}),
        frozenset({"postgresql", "pg"}),
    ]
    assert aliases.query_words([]) == []
    assert aliases.query_words(["--"]) == []


def test_an_empty_table_resolves_nothing():
    aliases = Aliases({})
    assert aliases.query_words(["k8s"]) == [frozenset({"k8s"})]


def test_check_alias_stores_both_as_tag_words():
    assert check_alias("Kubes", "Kubernetes", {}) == ("kube", "kubernetes")
    assert check_alias("TS", "typescript", DEFAULT_ALIASES) == ("ts", "typescript")


@pytest.mark.parametrize(
    ("alias", "canonical", "table", "message"),
    [
        ("k8s", "k8s", {}, "alias of itself"),
        ("K8S", "k8s", {}, "alias of itself"),  # the same word once lower-cased
        ("timeouts", "timeout", {}, "alias of itself"),  # the same word once singular
        # Chains, both ways: the canonical word is an alias, or the alias has aliases.
        ("kub", "k8s", {"k8s": "kubernetes"}, "is itself an alias of 'kubernetes'"),
        ("kubernetes", "orchestrator", {"k8s": "kubernetes"}, "has aliases of its own"),
        ("a" * (MAX_ALIAS_LENGTH + 1), "b", {}, "at most 64"),
        ("b", "a" * (MAX_ALIAS_LENGTH + 1), {}, "at most 64"),
        ("\u0130" * MAX_ALIAS_LENGTH, "x", {}, "at most 64"),  # twice as long in lower case
        ("two words", "x", {}, "one word"),
        ("x", "error-handling", {}, "one word"),
        ("", "x", {}, "one word"),
        ("x", "--", {}, "one word"),
        ("nul\x00", "x", {}, "NUL"),
        ("x", "\ud800", {}, "surrogates"),
    ],
)
def test_check_alias_refuses(alias, canonical, table, message):
    with pytest.raises(ValueError, match=message):
        check_alias(alias, canonical, table)


def test_alias_of_the_longest_length_is_accepted():
    word = "a" * MAX_ALIAS_LENGTH
    assert alias_word(word) == word


@pytest.mark.parametrize(
    ("tag", "canonical"),
    [("deps", "dependency"), ("NodeJS", "node"), ("reactjs", "react"), ("k8s", "kubernetes")],
)
def test_every_default_alias_is_reached_from_its_tag(tag, canonical):
    assert Aliases().query_words([tag]) == [Aliases().variants(canonical)]


@pytest.mark.parametrize(
    "tag",
    [
        "kubes8s", "python3s", "Caches2", "node-18s", "apis3", "k8s", "queries", "statuses",
        "oauth2", "py3", "utf8s", "aliases", "x", "gpus", "ipv6s", "sqlite3",
    ],
)  # fmt: skip
def test_a_tag_word_is_its_own_tag_word(tag):
    """Stored words are read back and checked again: each must map to itself."""
    for word in tag_words(tag):
        assert tag_words(word) == [word]
        assert alias_word(word) == word
