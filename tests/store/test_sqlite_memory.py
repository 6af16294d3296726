"""SQLite's memory statistics are switched off before a process's first connection, and never
under a connection already open (``store.sqlite_memory``). Each case runs in a fresh process:
the setting is the whole process's, and this one has opened connections long ago."""

import subprocess
import sys
import textwrap
from pathlib import Path


def _run(code: str) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


def test_a_process_first_engines_switch_the_statistics_off(tmp_path: Path) -> None:
    out = _run(f"""
        from sqlalchemy import text
        from colloquy.store.sqlite import create_engines
        from colloquy.store.sqlite_memory import statistics_off

        print(statistics_off())
        write, read = create_engines("sqlite:///{tmp_path / "db.sqlite"}", 2)
        with write.begin() as conn:
            conn.execute(text("CREATE TABLE t (n INTEGER)"))
            conn.execute(text("INSERT INTO t VALUES (7)"))
        with read.connect() as conn:
            print(conn.execute(text("SELECT n FROM t")).scalar_one())
        print(statistics_off())
    """)
    assert out == ["False", "7", "True"]


def test_a_connection_already_open_keeps_them_on_and_keeps_working(tmp_path: Path) -> None:
    out = _run(f"""
        import sqlite3
        from colloquy.store.sqlite_memory import statistics_off, switch_off_statistics

        conn = sqlite3.connect("{tmp_path / "db.sqlite"}")
        conn.execute("CREATE TABLE t (n INTEGER)")
        print(switch_off_statistics(), statistics_off())
        conn.execute("INSERT INTO t VALUES (3)")
        print(conn.execute("SELECT sum(n) FROM t").fetchone()[0])
    """)
    assert out == ["False", "False", "3"]


def test_a_later_call_leaves_open_connections_alone(tmp_path: Path) -> None:
    out = _run(f"""
        import sqlite3
        from colloquy.store.sqlite_memory import switch_off_statistics

        print(switch_off_statistics())
        conn = sqlite3.connect("{tmp_path / "db.sqlite"}")
        conn.execute("CREATE TABLE t (n INTEGER)")
        print(switch_off_statistics())
        conn.execute("INSERT INTO t VALUES (5)")
        print(conn.execute("SELECT sum(n) FROM t").fetchone()[0])
    """)
    assert out == ["True", "True", "5"]
