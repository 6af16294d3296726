"""The dashboard's pages are tested in-process, on both backends, with the API tests' helpers
(users, session tokens, API keys, proposals)."""

from tests.api.conftest import (  # noqa: F401 (fixtures)
    admin_token,
    api,
    api_key,
    member_token,
    password_hash,
    reviewer_token,
)
from tests.api.test_duplicates import twins  # noqa: F401 (fixture)
