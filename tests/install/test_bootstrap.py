"""The Makefile's uv bootstrap where it cannot work: a Python without ``ensurepip`` (Debian and
Ubuntu without ``python3-venv``) gets a message that names the fix, and no half-made venv is
left behind. The working path (no uv on PATH, a fresh HOME) runs in CI (``.ci/run``)."""

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def python_without_ensurepip(root: Path) -> Path:
    """A copy of this Python whose standard library lacks ``ensurepip``, as Debian ships it
    without ``python3-venv``: ``-m venv`` fails there."""
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    executable = root / "bin" / "python3"
    executable.parent.mkdir(parents=True)
    shutil.copy2(Path(sys._base_executable).resolve(), executable)
    lib = root / "lib" / stdlib.name
    lib.mkdir(parents=True)
    for entry in stdlib.iterdir():
        if entry.name != "ensurepip":
            (lib / entry.name).symlink_to(entry)
    return executable


def path_without_uv() -> str:
    dirs = os.environ["PATH"].split(os.pathsep)
    return os.pathsep.join(d for d in dirs if not (Path(d) / "uv").exists())


def test_no_venv_module_names_the_debian_package(tmp_path: Path) -> None:
    python = python_without_ensurepip(tmp_path / "python")
    checkout = tmp_path / "checkout"
    checkout.mkdir()
    shutil.copy2(ROOT / "Makefile", checkout / "Makefile")
    env = os.environ | {"PATH": path_without_uv(), "HOME": str(tmp_path / "home")}

    done = subprocess.run(
        ["make", "install", f"PYTHON={python}"],
        cwd=checkout,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert done.returncode != 0
    assert "no uv on PATH; installing uv" in done.stdout
    assert "apt-get install python3-venv" in done.stderr
    assert "install uv" in done.stderr
    assert not list(checkout.rglob("pyvenv.cfg"))  # no half-made venv to trip the next run
