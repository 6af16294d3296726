"""The profile summariser files py-spy's stacks under the right categories."""

from pathlib import Path

from benchmarks import attribution

LOOP = "Runner.run (asyncio/runners.py:118)"
ROUTE = "confirm (colloquy/api/knowledge.py:97)"
AUTH = "AccountService.authenticate_key (colloquy/services/accounts.py:245)"
COMPILE = "SQLCompiler.construct_params (sqlalchemy/sql/compiler.py:2038)"
EVENT = "add_event (colloquy/store/sql/unit_writes.py:50)"
EXECUTE = "Connection._execute_clauseelement (sqlalchemy/engine/base.py:1690)"


def test_a_sample_goes_to_its_innermost_matching_frame():
    own, seen = attribution.categorise([LOOP, ROUTE, EVENT, EXECUTE, COMPILE])
    assert own == "SQLAlchemy: compile, cache key, parameters"
    assert "event and counter writes" in seen and "SQLAlchemy: execution, pool, other" in seen


def test_a_statement_on_the_driver_cursor_is_sql_execution():
    """SQLite runs in C under ``driver_statements.fetch``: py-spy charges it to that frame,
    also under a key's lookup; the reader thread's plumbing above it is not execution."""
    fetch = "fetch (colloquy/store/sql/driver_statements.py:172)"
    reader = "ThreadedDatabase._read (colloquy/store/sql/database.py:198)"
    sql = "SQL execution (SQLite, in the driver's thread)"
    assert attribution.categorise([reader, fetch])[0] == sql
    assert attribution.categorise([LOOP, AUTH, fetch])[0] == sql
    assert attribution.categorise([reader])[0] != sql
    run = "_run (colloquy/store/sql/driver_statements.py:257)"
    assert attribution.categorise([reader, fetch, run])[0] == sql


def test_qualified_method_names_match_function_rules():
    own, _ = attribution.categorise([LOOP, ROUTE, AUTH])
    assert own == "authentication (key lookup, HMAC, sessions)"


def test_sqlalchemy_asyncio_is_not_the_event_loop():
    frame = "AsyncConnection.execute (sqlalchemy/ext/asyncio/engine.py:667)"
    assert attribution.categorise([LOOP, frame])[0] == "SQLAlchemy: execution, pool, other"
    assert attribution.categorise([LOOP])[0].startswith("event loop")


def test_standard_library_files_match_without_a_directory():
    hop = "Condition.notify (threading.py:382)"
    assert attribution.categorise([LOOP, hop])[0].startswith("driver and thread hops")
    digest = "compare_digest (hmac.py:1)"
    assert attribution.categorise([LOOP, digest])[0].startswith("authentication")


def test_unknown_frames_are_other():
    assert attribution.categorise(["main (somewhere/else.py:1)"])[0] == attribution.OTHER
    assert attribution.categorise([])[0] == attribution.OTHER


def test_raw_file_shares_leave_waiting_threads_out(tmp_path: Path):
    raw = tmp_path / "raw.txt"
    raw.write_text(
        f"{LOOP};{ROUTE};{EVENT};{EXECUTE};{COMPILE} 30\n"
        f"{LOOP};{ROUTE};{AUTH} 10\n"
        "_bootstrap (threading.py:1002);_worker (concurrent/futures/thread.py:81) 500\n"
        "_bootstrap (threading.py:1002);Condition.wait (threading.py:327) 7\n"
        "Thread.run (threading.py:982);Readers._serve (colloquy/store/sql/readers.py:91) 3\n"
    )
    found = attribution.read_raw(raw)
    assert (found.samples, found.waiting) == (40, 510)
    assert found.share("SQLAlchemy: compile, cache key, parameters") == 0.75
    assert found.share("authentication (key lookup, HMAC, sessions)") == 0.25
    assert found.share("event and counter writes") == 0
    assert found.share("event and counter writes", cumulative=True) == 0.75
    assert sum(found.share(c) for c in attribution.CATEGORIES) == 1
