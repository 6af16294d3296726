"""Attribute py-spy samples to the parts of a request's life that the CPU goes to.

A sample is a stack of frames, outermost first, each ``function (file:line)``. Its category
is that of the innermost frame matching any rule, so the categories split the samples without
overlap ("self" shares, summing to 100%). A category's cumulative share counts every sample with
a matching frame anywhere in its stack: how much happens *under* ranking rounds or event
writes, including the SQLAlchemy and driver work they cause. ``RULES`` is ordered; the first
rule that matches a frame names it.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

OTHER = "other"
FRAME = re.compile(r"^(?P<function>.*?) \((?P<file>[^()]*?)(?::\d+)?\)$")


@dataclass(frozen=True)
class Rule:
    """A category and the frames it claims: by a path fragment of the file, or by function
    names (optionally only within files containing ``within``)."""

    category: str
    paths: tuple[str, ...] = ()
    functions: frozenset[str] = frozenset()
    within: str = ""

    def matches(self, function: str, file: str) -> bool:
        if any(part in file for part in self.paths):
            return True
        # py-spy qualifies methods (``AccountService.authenticate_key``): match the last name.
        return function.rsplit(".", 1)[-1] in self.functions and self.within in file


RULES: tuple[Rule, ...] = (
    Rule("logging", paths=("logging/",)),
    Rule(
        # The driver's own execute (SQLite's runs in C below this frame, on a store thread).
        "SQL execution (SQLite, in the driver's thread)",
        functions=frozenset({"do_execute", "do_executemany", "do_execute_no_params"}),
        within="sqlalchemy/engine/default.py",
    ),
    Rule(
        # The same on the driver's cursor (``driver_statements``: the ranking's reads and a
        # key's lookup), where py-spy charges SQLite's C execution to the innermost Python
        # frame, ``_run`` (or ``fetch`` in older code).
        "SQL execution (SQLite, in the driver's thread)",
        functions=frozenset({"fetch", "_run"}),
        within="colloquy/store/sql/driver_statements.py",
    ),
    Rule(
        "authentication (key lookup, HMAC, sessions)",
        paths=("colloquy/security/", "hmac.py", "hashlib.py", "argon2/"),
        functions=frozenset(
            {
                "authenticate_key",
                "authenticate_reader",
                "key_credential",
                "touch_api_key",
                "session",
            }
        ),
        within="colloquy/",
    ),
    Rule(
        "event and counter writes",
        paths=("colloquy/store/sql/counters.py", "colloquy/store/sql/audit.py"),
        functions=frozenset({"add_event", "_tally"}),
        within="colloquy/store/",
    ),
    Rule(
        "FTS index update (Python side)",
        paths=("colloquy/domain/tag_text.py", "colloquy/domain/words.py"),
    ),
    Rule(
        "ranking rounds",
        paths=("colloquy/store/sql/ranking/", "colloquy/domain/ranking.py"),
        functions=frozenset({"_prune"}),
        within="colloquy/",
    ),
    Rule(
        "pydantic validation and serialisation",
        paths=("pydantic/", "pydantic_core/", "fastapi/_compat", "fastapi/encoders.py"),
    ),
    Rule("FastAPI dependency resolution", paths=("fastapi/dependencies/",)),
    Rule(
        "SQLAlchemy: compile, cache key, parameters",
        paths=("sqlalchemy/sql/",),
    ),
    Rule(
        "SQLAlchemy: result processing",
        paths=(
            "sqlalchemy/engine/result.py",
            "sqlalchemy/engine/cursor.py",
            "sqlalchemy/engine/row.py",
            "sqlalchemy/engine/_row_cy",
            "sqlalchemy/engine/processors",
        ),
    ),
    Rule(
        "driver and thread hops (aiosqlite/asyncpg, greenlet)",
        paths=(
            "aiosqlite/",
            "asyncpg/",
            "sqlalchemy/dialects/sqlite/aiosqlite.py",
            "sqlalchemy/dialects/postgresql/asyncpg.py",
            "sqlalchemy/util/_concurrency",
            "sqlalchemy/util/concurrency",
            "greenlet/",
            "concurrent/futures/",
            "threading.py",
            "queue.py",
        ),
    ),
    Rule("SQLAlchemy: execution, pool, other", paths=("sqlalchemy/",)),
    Rule(
        "uvicorn, Starlette, HTTP parsing",
        paths=(
            "uvicorn/",
            "starlette/",
            "httptools/",
            "h11/",
            "fastapi/routing.py",
            "fastapi/applications.py",
        ),
    ),
    Rule("colloquy: other code (services, store, API)", paths=("colloquy/",)),
    # SQLAlchemy's own ``ext/asyncio`` matched the SQLAlchemy rule above, earlier in this list.
    Rule(
        "event loop (asyncio, anyio; uvloop's native I/O and callbacks)",
        paths=("asyncio/", "anyio/", "uvloop/"),
    ),
)
# Threads waiting for work, when py-spy took them for busy (a thread woken on a loaded machine
# is runnable before it runs): the innermost frame is a queue or condition wait, or a reader
# thread's loop, which is innermost only while it waits in ``SimpleQueue.get`` (C, so no frame
# of its own). Such samples are counted apart and left out of the shares.
WAITING = frozenset(
    {
        ("Readers._serve", "colloquy/store/sql/readers.py"),
        ("Condition.wait", "threading.py"),
        ("Event.wait", "threading.py"),
        ("_worker", "concurrent/futures/thread.py"),
        ("_connection_worker_thread", "aiosqlite/core.py"),
        ("Queue.get", "queue.py"),
    }
)


def parse_frame(frame: str) -> tuple[str, str]:
    """``function (file:line)`` as py-spy writes it: the function and the file."""
    found = FRAME.match(frame.strip())
    return (found["function"], found["file"]) if found else (frame.strip(), "")


def is_waiting(frames: list[str]) -> bool:
    """Whether the innermost frame is a thread waiting for work (``WAITING``)."""
    function, file = parse_frame(frames[-1]) if frames else ("", "")
    return any(function == f and file.endswith(tail) for f, tail in WAITING)


def categorise(frames: list[str], rules: Iterable[Rule] = RULES) -> tuple[str, set[str]]:
    """The category of the innermost matching frame, and every category anywhere in the
    stack (for cumulative shares). ``frames`` is outermost first."""
    rules = tuple(rules)
    own, seen = OTHER, set()
    for frame in frames:
        function, file = parse_frame(frame)
        rule = next((r for r in rules if r.matches(function, file)), None)
        if rule is not None:
            own = rule.category
            seen.add(rule.category)
    return own, seen


@dataclass
class Attribution:
    """Sample counts per category: by innermost match (``own``) and anywhere (``anywhere``);
    samples of waiting threads apart (``waiting``), in neither."""

    samples: int = 0
    waiting: int = 0
    own: Counter[str] = field(default_factory=Counter)
    anywhere: Counter[str] = field(default_factory=Counter)

    def add(self, frames: list[str], count: int) -> None:
        if is_waiting(frames):
            self.waiting += count
            return
        own, seen = categorise(frames)
        self.samples += count
        self.own[own] += count
        for category in seen:
            self.anywhere[category] += count

    def share(self, category: str, cumulative: bool = False) -> float:
        counts = self.anywhere if cumulative else self.own
        return counts[category] / self.samples if self.samples else 0.0


def read_raw(path: Path) -> Attribution:
    """py-spy's ``--format raw`` (collapsed stacks: ``frame;frame;... count`` per line)."""
    result = Attribution()
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if stack and count.isdigit():
            result.add(stack.split(";"), int(count))
    return result


CATEGORIES = (*dict.fromkeys(rule.category for rule in RULES), OTHER)
# Categories whose frames enclose most of a request (the event loop runs everything, the
# framework calls the route, the route calls the store): their cumulative share says nothing.
ENCLOSING = frozenset(
    {
        "SQLAlchemy: execution, pool, other",
        "uvicorn, Starlette, HTTP parsing",
        "colloquy: other code (services, store, API)",
        "event loop (asyncio, anyio; uvloop's native I/O and callbacks)",
    }
)
