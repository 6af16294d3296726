"""The Makefile's uv bootstrap: with no uv on PATH, ``scripts/fetch_uv.py`` puts the pinned uv
in ``.tools/`` using the standard library only, and refuses a wheel that is not the pinned one.
The whole newcomer path (no uv, a fresh HOME, ``make run`` then ``make test``) runs in CI
(``.ci/run``)."""

import hashlib
import io
import os
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest
from scripts import fetch_uv

ROOT = Path(__file__).resolve().parents[2]


def path_without_uv() -> str:
    dirs = os.environ["PATH"].split(os.pathsep)
    return os.pathsep.join(d for d in dirs if not (Path(d) / "uv").exists())


def test_make_fetches_the_pinned_uv_when_none_is_on_path(tmp_path: Path) -> None:
    checkout = tmp_path / "checkout"
    (checkout / "scripts").mkdir(parents=True)
    shutil.copy2(ROOT / "Makefile", checkout / "Makefile")
    shutil.copy2(ROOT / "scripts" / "fetch_uv.py", checkout / "scripts" / "fetch_uv.py")
    env = os.environ | {"PATH": path_without_uv(), "HOME": str(tmp_path / "home")}
    target = f".tools/uv-{fetch_uv.VERSION}/bin/uv"

    done = subprocess.run(
        ["make", target], cwd=checkout, env=env, capture_output=True, text=True, timeout=300
    )

    assert done.returncode == 0, done.stderr
    assert "no uv on PATH; fetching uv" in done.stdout
    version = subprocess.run(
        [str(checkout / target), "--version"], capture_output=True, text=True, check=True
    )
    assert version.stdout.startswith(f"uv {fetch_uv.VERSION} ")
    assert not list(checkout.rglob("*.partial"))


def test_the_makefile_and_the_script_pin_one_version() -> None:
    pinned = re.search(r"^UV_VERSION := (\S+)$", (ROOT / "Makefile").read_text(), re.MULTILINE)
    assert pinned is not None and pinned.group(1) == fetch_uv.VERSION


def wheel_holding(binary: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(f"uv-{fetch_uv.VERSION}.data/scripts/uv", binary)
    return buffer.getvalue()


def test_only_the_pinned_wheel_is_unpacked() -> None:
    wheel = wheel_holding(b"\x7fELF...")
    assert fetch_uv.binary_of(wheel, hashlib.sha256(wheel).hexdigest()) == b"\x7fELF..."
    with pytest.raises(ValueError, match="not the pinned"):
        fetch_uv.binary_of(wheel, "0" * 64)


def test_a_machine_without_a_pinned_wheel_is_told_to_install_uv(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    assert fetch_uv.wheel_for(("linux", "x86_64", "glibc"))[0].endswith("manylinux2014_x86_64.whl")
    monkeypatch.setattr(fetch_uv, "this_machine", lambda: ("sunos5", "sparc", ""))
    assert fetch_uv.main(["fetch_uv.py", fetch_uv.VERSION, str(tmp_path / "uv")]) == 1
    assert "no pinned uv" in capsys.readouterr().err
    assert not (tmp_path / "uv").exists()
