"""The secrets' rules: a guessable JWT secret is refused, while the API-key pepper may be as
short as a cq reference server's (its keys work only under the same pepper)."""

import logging

import pytest
from pydantic import SecretStr

from colloquy.config import Settings, WeakSecret, check_secrets

STRONG = "x" * 32
# The reference fixture's pepper (tests/services/test_import_cq.py): 31 bytes.
REFERENCE_PEPPER = "fixture-pepper-0123456789abcdef"


def settings(jwt_secret: str, pepper: str) -> Settings:
    return Settings(jwt_secret=SecretStr(jwt_secret), api_key_pepper=SecretStr(pepper))


def test_a_short_pepper_is_accepted_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="colloquy.config"):
        check_secrets(settings(STRONG, REFERENCE_PEPPER))
    assert [r.getMessage() for r in caplog.records] == [
        "CQ_API_KEY_PEPPER is 31 bytes long; accepted (keys from a cq reference server need its "
        "pepper), but a new deployment should use at least 32 bytes"
    ]


def test_a_long_pepper_passes_silently(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="colloquy.config"):
        check_secrets(settings(STRONG, STRONG))
    assert caplog.records == []


@pytest.mark.parametrize(
    ("jwt_secret", "pepper", "variable"),
    [(STRONG, "", "CQ_API_KEY_PEPPER"), (STRONG[1:], STRONG, "CQ_JWT_SECRET")],
)
def test_an_empty_pepper_and_a_short_jwt_secret_are_refused(
    jwt_secret: str, pepper: str, variable: str
) -> None:
    with pytest.raises(WeakSecret, match=f"^{variable} is"):
        check_secrets(settings(jwt_secret, pepper))
