"""The container image's entrypoint (docker/entrypoint.sh), run here as a plain process since no
container engine runs in CI: it serves with the image's default command, answers the image's
HEALTHCHECK, passes other commands to the CLI, and refuses a data directory it cannot write."""

import os
import subprocess
import sys
from pathlib import Path

from tests.live.helpers import run_cli
from tests.support.live import free_port, live_server, server_env

ROOT = Path(__file__).resolve().parents[2]
ENTRYPOINT = ROOT / "docker" / "entrypoint.sh"
# The image puts its venv first on PATH; so does this, with the venv running the tests.
PATH = {"PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}


def entrypoint(
    *args: str, env: dict[str, str], stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    return run_cli(env, *args, stdin=stdin, program=ENTRYPOINT)


def test_serves_answers_the_healthcheck_and_runs_cli_commands(tmp_path: Path) -> None:
    data_dir = tmp_path / "volume"
    data_dir.mkdir()
    with live_server(data_dir, settings=PATH, program=ENTRYPOINT) as server:
        port = server.base_url.rsplit(":", 1)[1]
        env = server.env | {"CQ_PORT": port}
        ready = entrypoint("healthcheck", env=env)
        assert ready.returncode == 0, ready.stderr
        created = entrypoint(
            "user", "create", "alice", "--password-stdin", env=env, stdin="alice-password-1"
        )
        assert created.returncode == 0, created.stderr
        assert "alice" in created.stdout
        log = next(data_dir.glob("server-*.log")).read_text()
    # The container default: every interface, since the port is published from outside.
    assert f"0.0.0.0:{port}" in log
    assert (data_dir / "colloquy.db").is_file()
    assert (data_dir / "secrets.json").is_file()


def test_healthcheck_fails_when_nothing_answers(tmp_path: Path) -> None:
    env = server_env(tmp_path, None, settings=PATH | {"CQ_PORT": str(free_port())})
    answer = entrypoint("healthcheck", env=env)
    assert answer.returncode == 1
    assert "not ready" in answer.stderr


def test_refuses_a_data_directory_it_cannot_create(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    data_dir = blocker / "data"
    env = server_env(data_dir, None, settings=PATH)
    refused = entrypoint("serve", env=env)
    assert refused.returncode == 2
    assert f"the data directory {data_dir} (CQ_DATA_DIR) cannot be written" in refused.stderr
    assert not data_dir.exists()
