"""Duplicates on the dashboard: "Possibly the same as" on the review card and the unit page,
and rejecting the card as a duplicate of the chosen neighbour (stored, shown in the history)."""

from tests.api.test_duplicates import UNKNOWN
from tests.web.test_pages import CSRF, get, session


async def decide(api, token, unit_id, **form):
    page = await get(api, "/review", token)
    csrf = CSRF.search(page.text)
    assert csrf is not None
    return await api.client.post(
        f"/review/{unit_id}/decide",
        data={"csrf_token": csrf.group(1), **form},
        headers=session(token),
    )


async def test_the_card_shows_its_neighbours_and_rejects_as_a_duplicate(api, reviewer_token, twins):
    original, copy = twins
    card = await get(api, "/review", reviewer_token)
    assert card.status_code == 200
    # The oldest pending unit is the copy (the others are decided).
    assert f'data-unit-id="{copy["id"]}"' in card.text
    assert "Possibly the same as" in card.text
    assert f'name="duplicate_of" value="{original["id"]}" checked' in card.text
    assert f'href="/units/{original["id"]}">{original["insight"]["summary"]}</a>' in card.text
    assert 'id="duplicate-button"' in card.text
    assert "<kbd>d</kbd> reject as a duplicate of it" in card.text

    done = await decide(
        api, reviewer_token, copy["id"], decision="duplicate", duplicate_of=original["id"]
    )
    assert done.status_code == 303
    assert done.headers["location"] == "/review?notice=duplicate"

    page = await get(api, f"/units/{copy['id']}", reviewer_token)
    link = f'as a duplicate of <a href="/units/{original["id"]}" class="mono">{original["id"]}</a>'
    assert page.text.count(link) == 2  # the review line and the history
    # The original's page shows its neighbours: the rejected copy is not one of them.
    original_page = await get(api, f"/units/{original['id']}", reviewer_token)
    assert "Possibly the same as" not in original_page.text


async def test_a_pending_unit_page_shows_its_neighbours(api, reviewer_token, twins):
    original, copy = twins
    page = await get(api, f"/units/{original['id']}", reviewer_token)
    assert 'id="neighbours"' in page.text
    assert f'href="/units/{copy["id"]}">{copy["insight"]["summary"]}</a>' in page.text


async def test_no_neighbours_no_hint(api, api_key, reviewer_token):
    await api.propose(api_key, summary="Only one of its kind")
    card = await get(api, "/review", reviewer_token)
    assert 'data-unit-id="' in card.text
    assert "Possibly the same as" not in card.text
    assert "duplicate-button" not in card.text
    assert "reject as a duplicate of it" not in card.text


async def test_a_duplicate_of_no_original_decides_nothing(api, reviewer_token, twins):
    _, copy = twins
    for original, status in ((UNKNOWN, 303), (copy["id"], 303), ("", 422), ("x'--", 422)):
        done = await decide(
            api, reviewer_token, copy["id"], decision="duplicate", duplicate_of=original
        )
        assert done.status_code == status, original
        if status == 303:
            assert done.headers["location"] == "/review?notice=no_original"
        item = await api.store.get_unit(copy["id"])
        assert item is not None and item.status.value == "pending"
