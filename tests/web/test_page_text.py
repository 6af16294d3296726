"""What the pages say, in-process on both backends: counted nouns, the notice after a decision,
flag markers in lists, who proposed, a new key's days left, extension values as written."""

import html
import re
from datetime import timedelta

import httpx

from colloquy.web.pages.keys import time_left
from colloquy.web.wording import as_json, plural
from tests.api.conftest import Api
from tests.web.test_pages import CSRF, get, session


async def csrf(api: Api, token: str) -> str:
    found = CSRF.search((await get(api, "/keys", token)).text)
    assert found is not None
    return found.group(1)


async def decide(api: Api, token: str, unit_id: str, decision: str, **form: str) -> httpx.Response:
    """Post the card's form, then follow the redirect: the page the reviewer sees next."""
    data = {"decision": decision, "csrf_token": await csrf(api, token), **form}
    posted = await api.client.post(f"/review/{unit_id}/decide", data=data, headers=session(token))
    assert posted.status_code == 303
    return await get(api, posted.headers["location"], token)


def notice(page: httpx.Response) -> str | None:
    found = re.search(r'<p class="notice notice-\w+" role="status">([^<]*)</p>', page.text)
    return found.group(1) if found else None


def row(page: str, unit_id: str) -> str:
    """The unit list's row of ``unit_id``."""
    (found,) = [r for r in page.split('<li class="unit-row">') if f'href="/units/{unit_id}"' in r]
    return found


def test_counted_nouns_and_json_for_people():
    assert [plural(n, "unit") for n in (0, 1, 2)] == ["0 units", "1 unit", "2 units"]
    assert plural(1, "person", "people") == "1 person"
    assert plural(3, "person", "people") == "3 people"
    assert as_json("it's <fine>") == '"it\'s <fine>"'
    assert as_json("café") == '"café"'
    assert as_json({"b": [1], "a": 2}) == '{\n  "a": 2,\n  "b": [\n    1\n  ]\n}'
    assert as_json({}) == "{}"
    assert as_json(None) == "null"


def test_time_left_rounds_to_the_nearest_unit():
    cases = {
        timedelta(days=30) - timedelta(seconds=2): "30d left",
        timedelta(days=1, hours=11): "1d left",
        timedelta(days=1, hours=13): "2d left",
        timedelta(hours=23, minutes=40): "1d left",
        timedelta(hours=12): "12h left",
        timedelta(minutes=59, seconds=40): "1h left",
        timedelta(minutes=30): "30m left",
        timedelta(seconds=5): "1m left",
    }
    assert {left: time_left(left) for left in cases} == cases


async def test_a_fresh_30_day_key_shows_30_days_left(api, member_token):
    form = {
        "name": "laptop",
        "ttl": "30d",
        "labels": "",
        "csrf_token": await csrf(api, member_token),
    }
    created = await api.client.post("/keys", data=form, headers=session(member_token))
    assert created.status_code == 200
    assert "30d left" in created.text
    assert "30d left" in (await get(api, "/keys", member_token)).text


async def test_the_notice_names_the_next_card_only_when_there_is_one(api, api_key, reviewer_token):
    first = await api.propose(api_key, summary="First")
    second = await api.propose(api_key, summary="Second")
    page = await decide(api, reviewer_token, first["id"], "reject")
    assert notice(page) == "Rejected. Here is the next one."
    assert 'id="review-card"' in page.text
    page = await decide(api, reviewer_token, second["id"], "approve")
    assert notice(page) == "Approved."
    assert "All caught up" in page.text
    third = await api.propose(api_key, summary="Third")
    page = await decide(api, reviewer_token, third["id"], "approve", **{"return": "unit"})
    assert notice(page) == "Approved."  # on the unit's page, which has no next card


async def test_counts_say_unit_or_units(api, api_key, admin_token, reviewer_token):
    await api.approved(api_key, admin_token, domains=["solo"])
    for _ in range(2):
        await api.approved(api_key, admin_token, domains=["pair"])
    page = (await get(api, "/dashboard", reviewer_token)).text
    assert 'aria-label="solo: 1 approved unit"' in page
    assert 'aria-label="pair: 2 approved units"' in page
    assert ': 1 units"' not in page and ": 1 approved units" not in page
    assert re.search(r'aria-label="[^"]+: 0 units"', page)  # the empty buckets


async def test_lists_mark_flagged_units(api, api_key, admin_token, reviewer_token):
    flagged = await api.approved(api_key, admin_token, summary="Flagged one")
    plain = await api.approved(api_key, admin_token, summary="Plain one")
    await api.flag(api_key, flagged["id"], "stale")
    await api.flag(api_key, flagged["id"], "incorrect")
    page = (await get(api, "/units", reviewer_token)).text
    marker = "2 flags: stale, incorrect"
    assert marker in row(page, flagged["id"])
    assert "flag-marker" not in row(page, plain["id"])
    unit_page = (await get(api, f"/units/{flagged['id']}", reviewer_token)).text
    assert marker in unit_page


async def test_the_activity_feed_says_who_proposed(api, admin_token, member_token):
    key = await api.key(member_token)
    await api.propose(key, summary="Proposed by a member")
    page = (await get(api, "/dashboard", admin_token)).text
    feed = page.split('id="recent-activity"')[1].split("</ul>")[0]
    assert re.search(r"Proposed by a member</a>\s*<span[^>]*>by mo · ", feed)


async def test_extension_values_read_as_written(api, api_key, reviewer_token):
    extensions = {"team:note": "it's <fine>", "team:nested": {"html": "<b>bold</b>", "n": 1}}
    unit = await api.propose(api_key, extensions=extensions)
    page = (await get(api, f"/units/{unit['id']}", reviewer_token)).text
    shown = re.findall(r'<pre class="json">(.*?)</pre>', page, flags=re.S)
    assert [html.unescape(s) for s in shown] == [
        '{\n  "html": "<b>bold</b>",\n  "n": 1\n}',  # keys in order, as on every backend
        '"it\'s <fine>"',
    ]
    assert "&lt;b&gt;bold&lt;/b&gt;" in page and "<b>bold</b>" not in page
    assert "\\u0027" not in page and "\\u003c" not in page
