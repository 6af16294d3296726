"""A unit's tags as the words its full-text index holds beside its text (``units.tag_text``).

Hybrid ranking matches a query's words against a unit's tags the way it matches its text, so
``k8s-probes``, ``python3.11`` and ``timeouts`` are stored as the words ``k8s probe``,
``python`` and ``timeout`` (``tags.tag_words``). Aliases are not applied: a query asks for
every variant of its words, so an edited alias takes effect with nothing to re-index.
"""

from collections.abc import Iterable

from colloquy.domain.tags import tag_words


def unit_tag_text(
    domains: Iterable[str], languages: Iterable[str], frameworks: Iterable[str]
) -> str:
    """The words of a unit's domains, languages and frameworks, each once, space-separated."""
    words: dict[str, None] = {}
    for tags in (domains, languages, frameworks):
        for tag in tags:
            words.update(dict.fromkeys(tag_words(tag)))
    return " ".join(words)
