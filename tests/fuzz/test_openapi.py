"""Schema fuzzing: schemathesis drives the API in-process from its OpenAPI document, on both
backends, authenticated as an admin (session routes) and through an API key (the rest).

The assertion is "no server error": no response >= 500 and no unhandled exception (in-process, an
exception that escapes the app is what a server would answer with a 500). Of schemathesis' other
checks we keep the ones this API's document makes sound:

* ``content_type_conformance``: every answer is JSON, as documented (errors included);
* ``negative_data_rejection``: input outside the documented schema is refused with a 4xx (the
  document is generated from the same models that validate requests);
* ``unsupported_method``: methods a path does not document answer 405.

Left out on purpose: ``status_code_conformance`` (the document lists only 200/201/422, not the
401/403/404/409 every route can answer), ``response_schema_conformance`` (responses have no
models, and service errors use a string ``detail`` where FastAPI documents its 422 list),
``positive_data_acceptance`` (schema-valid input can still break a business rule: an unknown
unit, a bad TTL), ``allow_header_conformance`` (where a path has several routes, as GET and
POST ``/api/v1/knowledge``, Starlette's 405 names only the first one's method in ``Allow``), and
the stateful checks (stateful testing is off to keep the run bounded).
"""

import re
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

import schemathesis
from schemathesis.config import SchemathesisConfig
from schemathesis.engine import events, from_schema
from schemathesis.generation.case import Case
from schemathesis.python import asgi

from tests.fuzz.conftest import ADMIN, Target

# Fixed seed, derandomised generation and no example database: the same cases on every run.
# The fuzzing phase draws up to MAX_EXAMPLES cases per operation; the coverage phase adds its
# boundary values (lengths, limits, missing and unexpected parts) on top.
MAX_EXAMPLES = 60
# Each check's settings; a refusal of schema-invalid input may be any 4xx (a rate limit's 429 or
# a 413 included); a 5xx is not_a_server_error's to report.
CHECKS = {
    "not_a_server_error": {},
    "content_type_conformance": {},
    "negative_data_rejection": {"expected-statuses": ["4xx"]},
    "unsupported_method": {},
}
SIGN_OUT = "/api/v1/auth/logout"
EXCEPTION_LINE = re.compile(r"^[A-Za-z_][\w.]*(?:Error|Exception|Exit): .*$", re.MULTILINE)
# Values that have broken databases and normalisers before, mixed into generated strings and
# integers now and then: NUL, characters that grow when lower-cased, integers past 64 bits.
HOSTILE_STRINGS = ["\x00", "a\x00b", "\u0130" * 64, "\u0130" * 40, "\ufb03" * 30]
HOSTILE_INTEGERS = [2**63, 2**64, -(2**63) - 1, 10**30]
# Optional parameters are documented as "string or null", which type-wide binding skips: these
# take the strings by name.
STRING_PARAMETERS = ("q", "pattern", "domain", "created_by", "after", "cursor", "username")
CONFIG = {
    # Every failure is listed, not only each operation's first; the run's length stays the same.
    "continue-on-failure": True,
    "seed": 11,
    "dictionaries": {
        "hostile-strings": {"values": HOSTILE_STRINGS},
        "hostile-integers": {"values": HOSTILE_INTEGERS},
    },
    "parameters": {
        name: {"dictionary": "hostile-strings", "probability": 0.1} for name in STRING_PARAMETERS
    },
    "generation": {
        "deterministic": True,
        "database": "none",
        "max-examples": MAX_EXAMPLES,
        "dictionaries": {
            "string": {"dictionary": "hostile-strings", "probability": 0.1},
            "integer": {"dictionary": "hostile-integers", "probability": 0.1},
        },
    },
    # The coverage phase sends schema-invalid input at every boundary; fuzzing then spends its
    # cases on valid input, the kind that reaches the database.
    "phases": {"stateful": {"enabled": False}, "fuzzing": {"generation": {"mode": "positive"}}},
    "checks": {"enabled": False, **{name: {"enabled": True, **c} for name, c in CHECKS.items()}},
}


@dataclass
class Findings:
    """What one run saw: cases by phase, statuses by operation, and each distinct failure with
    the request that caused it."""

    cases: Counter[str] = field(default_factory=Counter)
    statuses: dict[str, Counter[int]] = field(default_factory=lambda: defaultdict(Counter))
    # One entry per distinct failure (numbers masked in the key): what, a request, how often.
    failures: dict[str, tuple[str, str, int]] = field(default_factory=dict)

    def fail(self, label: str, what: str, request: str) -> None:
        key = re.sub(r"\d+", "N", f"{label}: {what}")
        text, first, seen = self.failures.get(key, (f"{label}: {what}", request, 0))
        self.failures[key] = (text, first, seen + 1)

    def report(self) -> str:
        return "\n".join(
            f"{text} (x{seen})\n    {request}" for text, request, seen in self.failures.values()
        )

    def summary(self, backend: str, seconds: float) -> str:
        statuses = sum(self.statuses.values(), Counter())
        return (
            f"[{backend}] schema fuzzing: {sum(self.cases.values())} cases {dict(self.cases)} "
            f"in {seconds:.1f}s; statuses {dict(sorted(statuses.items()))}; "
            f"{len(self.failures)} distinct failures"
        )


def key_operations(target: Target, schema: schemathesis.BaseSchema) -> frozenset[str]:
    """The operations that refuse the admin's session token with a 401: those that want an API
    key. Asked of the app (credentials are checked before the input), so that a new route needs
    no list here; the sign-out probe spends a spare session."""
    refused = set()
    with asgi.get_client(target.app) as http:
        for operation in (result.ok() for result in schema.get_all_operations()):
            token = target.spare_session() if operation.path == SIGN_OUT else target.session
            path = re.sub(r"\{[^}]+\}", "x", operation.path)
            answer = http.request(operation.method, path, headers=bearer(token))
            if answer.status_code == 401:
                refused.add(operation.label)
    return frozenset(refused)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def fuzz_schema(target: Target) -> schemathesis.BaseSchema:
    schema = schemathesis.openapi.from_asgi(
        "/openapi.json", target.app, config=SchemathesisConfig.from_dict(CONFIG)
    )
    own_key_id = target.api_key_id
    wants_key = key_operations(target, schema)
    assert "POST /api/v1/knowledge" in wants_key  # the probe tells keys from sessions

    @schema.auth(refresh_interval=None)
    class Credentials:
        """The API key where a key is wanted; elsewhere the admin's session token (a spare one
        to sign out with, so that the others stay valid)."""

        def get(self, case: Case, _ctx: Any) -> str:
            if case.operation.label in wants_key:
                return target.api_key
            if case.operation.path == SIGN_OUT:
                return target.spare_session()
            return target.session

        def set(self, case: Case, token: str, _ctx: Any) -> None:
            case.headers = {**(case.headers or {}), **bearer(token)}

    @schema.hook
    def filter_case(_ctx: Any, case: Case) -> bool:
        # The fuzzer learns names and ids from responses; it must not revoke the key or
        # delete, demote or re-password the admin it authenticates with (the admin-safety
        # rules have tests of their own).
        params = case.path_parameters or {}
        return params.get("username") != ADMIN and params.get("key_id") != own_key_id

    return schema


def exception_line(body: bytes) -> str:
    """The last "module.Error: message" line of a debug 500's traceback."""
    found = EXCEPTION_LINE.findall(body.decode(errors="replace"))
    return found[-1][:240] if found else "(no traceback)"


def run(target: Target) -> Findings:
    found = Findings()
    for event in from_schema(fuzz_schema(target)).execute():
        if isinstance(event, events.ScenarioFinished):
            recorder = event.recorder
            for case_id, interaction in recorder.interactions.items():
                found.cases[event.phase.value] += 1
                status = interaction.response.status_code if interaction.response else None
                if status is not None:
                    found.statuses[recorder.label][status] += 1
                failed = [c.name for c in recorder.checks.get(case_id, []) if c.failure_info]
                if failed:
                    what = f"{', '.join(failed)}, status {status}"
                    if status is not None and status >= 500:
                        what += f": {exception_line(interaction.response.content)}"
                    case = recorder.cases[case_id].value
                    found.fail(recorder.label, what, case.as_curl_command())
        elif isinstance(event, events.NonFatalError):
            found.fail(event.label, f"{type(event.value).__name__}: {event.value}", "")
        elif isinstance(event, events.FatalError):
            raise event.exception
    return found


def test_no_server_errors(fuzz_target: Target) -> None:
    start = time.perf_counter()
    found = run(fuzz_target)
    print("\n" + found.summary(fuzz_target.backend, time.perf_counter() - start))
    assert sum(found.cases.values()) >= 1000  # the run really exercised the API
    # The credentials held: only a login with made-up credentials may answer 401.
    refused = {label for label, seen in found.statuses.items() if seen[401]}
    assert refused <= {"POST /api/v1/auth/login"}, refused
    assert not found.failures, found.report()
