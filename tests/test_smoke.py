async def test_health(client):
    response = await client.get("/api/v1/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_store_starts_empty(store):
    assert (await store.stats([0])).total_count == 0
