"""``GET /api/v1/knowledge``'s parameters, answer for answer: a broad table of query strings,
bad and borderline, each with the status and body (byte for byte) that FastAPI's per-parameter
validation gave when they were recorded (``query_params_answers.json``), so that the route's
own parsing keeps every 422 (type, loc, msg, input, ctx, order) and every acceptance as it was."""

import json
from pathlib import Path
from urllib.parse import urlencode

import cq_schema
import pytest

from colloquy.domain.bounds import MAX_INT_PARAM
from colloquy.domain.ranking import Ranking
from colloquy.services.knowledge import MAX_QUERY_TEXT
from tests.api.conftest import API

ANSWERS = json.loads((Path(__file__).parent / "query_params_answers.json").read_text())

TAG = "t" * (cq_schema.DOMAIN_MAX_LENGTH + 1)
TAGS = cq_schema.DOMAINS_MAX_ITEMS + 1
PATTERN = "p" * (cq_schema.PATTERN_MAX_LENGTH + 1)
Q = "q" * (MAX_QUERY_TEXT + 1)


def many(name: str, count: int = TAGS) -> str:
    return urlencode([(name, f"{name[0]}{i}") for i in range(count)])


CASES: dict[str, str] = {
    # tags: too long, too many, both, in each of the three lists
    "domain-too-long": urlencode({"domains": TAG}),
    "domain-too-long-third": urlencode([("domains", "a"), ("domains", "b"), ("domains", TAG)]),
    "domain-too-long-non-ascii": urlencode({"domains": "é" * (cq_schema.DOMAIN_MAX_LENGTH + 1)}),
    "domains-too-many": many("domains"),
    "domains-too-many-and-too-long": f"{many('domains')}&{urlencode({'domains': TAG})}",
    "domains-most": many("domains", cq_schema.DOMAINS_MAX_ITEMS),
    "domain-longest": urlencode({"domains": TAG[1:]}),
    "language-too-long": "domains=web&" + urlencode({"languages": TAG}),
    "languages-too-many": "domains=web&" + many("languages"),
    "framework-too-long": "domains=web&" + urlencode({"frameworks": TAG}),
    "frameworks-too-many": "domains=web&" + many("frameworks"),
    # limit
    "limit-0": "domains=web&limit=0",
    "limit-negative": "domains=web&limit=-1",
    "limit-abc": "domains=web&limit=abc",
    "limit-empty": "domains=web&limit=",
    "limit-bare": "domains=web&limit",
    "limit-float": "domains=web&limit=1.5",
    "limit-float-whole": "domains=web&limit=2.0",
    "limit-spaces": "domains=web&limit=%205%20",
    "limit-plus": "domains=web&limit=%2B5",
    "limit-underscore": "domains=web&limit=1_0",
    "limit-true": "domains=web&limit=true",
    "limit-max": f"domains=web&limit={MAX_INT_PARAM}",
    "limit-huge": f"domains=web&limit={MAX_INT_PARAM + 1}",
    "limit-enormous": "domains=web&limit=" + "9" * 40,
    "limit-repeated-last-bad": "domains=web&limit=5&limit=abc",
    "limit-repeated-last-good": "domains=web&limit=abc&limit=5",
    # pattern and q
    "pattern-too-long": "domains=web&" + urlencode({"pattern": PATTERN}),
    "pattern-repeated-last-good": f"domains=web&pattern={PATTERN}&pattern=x",
    "pattern-repeated-last-bad": f"domains=web&pattern=x&pattern={PATTERN}",
    "q-too-long": "domains=web&" + urlencode({"q": Q}),
    "q-too-long-alone": urlencode({"q": Q}),
    "q-longest-alone": urlencode({"q": Q[1:]}),
    "q-repeated-last-bad": urlencode([("q", "cache"), ("q", Q)]),
    # domains missing
    "nothing": "",
    "missing-domains-limit": "limit=5",
    "missing-domains-languages": "languages=python&frameworks=django&pattern=x",
    "missing-domains-blank-q": "q=%20%20%09",
    "missing-domains-empty-q": "q=",
    "missing-domains-bare-q": "q",
    "missing-domains-bad-limit": "limit=0",
    "missing-domains-domains-empty-list": "domains=",
    "q-alone": "q=cache",
    "q-repeated-last-blank": "q=cache&q=%20",
    # empty values, unknown names, several errors at once
    "empty-values": "domains=&languages=&frameworks=&pattern=&q=",
    "bare-names": "domains&languages&frameworks&pattern",
    "unknown-parameter": "domains=web&foo=bar&Domains=x",
    "replacement-characters": "domains=%ff%fe&q=%ed%a0%80",
    "several-errors": (
        f"{many('languages')}&limit=0&"
        + urlencode([("domains", TAG), ("q", Q), ("pattern", PATTERN), ("frameworks", TAG)])
    ),
    "several-errors-no-domains": "limit=abc&" + urlencode({"q": Q}),
}

CQ_CASES: dict[str, str] = {
    "cq-q-alone": "q=cache",
    "cq-q-and-domains": "domains=web&q=cache",
    "cq-nothing": "",
    "cq-bad-limit-and-q": "q=cache&limit=0",
}


async def answer(api, query: str) -> list[object]:
    headers = await api.reader_headers()
    response = await api.client.get(f"{API}/knowledge?{query}", headers=headers)
    return [response.status_code, response.text]


@pytest.mark.parametrize("case", CASES)
async def test_query_parameters_answer_as_recorded(api, case):
    assert await answer(api, CASES[case]) == ANSWERS[case]


class TestCqRanking:
    @pytest.fixture
    def settings(self, settings):
        return settings.model_copy(update={"ranking": Ranking.CQ})

    @pytest.mark.parametrize("case", CQ_CASES)
    async def test_query_parameters_answer_as_recorded(self, api, case):
        assert await answer(api, CQ_CASES[case]) == ANSWERS[case]


def test_every_recorded_answer_is_asked() -> None:
    """No recorded answer left without its case (nor a case without one)."""
    assert set(ANSWERS) == set(CASES) | set(CQ_CASES)
