"""Put a pinned ``uv`` binary at DEST, with nothing but this Python's standard library.

The Makefile runs this when no ``uv`` is on PATH. A venv and pip would need Debian's
``python3-venv`` and take a quarter of a minute; PEP 668 refuses ``pip install --user``. A uv
wheel is a zip holding the binary, so the wheel for this machine is downloaded from PyPI, its
SHA-256 checked against the one pinned here, and the binary taken out of it.

    python3 scripts/fetch_uv.py VERSION DEST
"""

import hashlib
import io
import json
import os
import platform
import sys
import urllib.request
import zipfile
from pathlib import Path

VERSION = "0.13.9"
# PyPI's JSON index (PEP 691), which gives each file's download address.
INDEX = "https://pypi.org/simple/uv/"
INDEX_JSON = "application/vnd.pypi.simple.v1+json"
# (OS, machine, C library) -> the wheel's platform tag and its SHA-256, as PyPI lists them.
WHEELS = {
    ("linux", "x86_64", "glibc"): (
        "manylinux_2_17_x86_64.manylinux2014_x86_64",
        "d7f459fe4fd247d830351c75686d3996ace3c6f3f728eb0e85a30b7ada0cef19",
    ),
    ("linux", "x86_64", "musl"): (
        "musllinux_1_1_x86_64",
        "2c45530751517d6c3bbc69a19473f6effe47cce047bede01ffd8af7ea7b36b25",
    ),
    ("linux", "aarch64", "glibc"): (
        "manylinux_2_17_aarch64.manylinux2014_aarch64.musllinux_1_1_aarch64",
        "5435c5ce14a56431208ca0996416d310f1598e8c2c8ba707688985a16bb82dbe",
    ),
    ("darwin", "x86_64", ""): (
        "macosx_10_12_x86_64",
        "c16ed11e013557536b3e60065f1b912f6407bd6518e041b961e23ef9e6b4fbf5",
    ),
    ("darwin", "arm64", ""): (
        "macosx_11_0_arm64",
        "66c512266d633bef48384a1f53003f41f2a8e7b36fe6e7fbfd3e0fd52d96fa63",
    ),
}
WHEELS[("linux", "aarch64", "musl")] = WHEELS[("linux", "aarch64", "glibc")]  # one wheel, both


class Unsupported(Exception):
    """No pinned wheel fits this machine: uv has to be installed by hand."""


def this_machine() -> tuple[str, str, str]:
    system = sys.platform
    machine = platform.machine().lower().replace("amd64", "x86_64").replace("arm64", "aarch64")
    if system == "darwin":
        return system, "arm64" if machine == "aarch64" else machine, ""
    libc = "glibc" if platform.libc_ver()[0] == "glibc" else "musl"
    return system, machine, libc


def wheel_for(machine: tuple[str, str, str]) -> tuple[str, str]:
    """The wheel's file name and SHA-256 for ``machine``."""
    if machine not in WHEELS:
        raise Unsupported(f"no pinned uv {VERSION} wheel for {'/'.join(filter(None, machine))}")
    tag, sha256 = WHEELS[machine]
    return f"uv-{VERSION}-py3-none-{tag}.whl", sha256


def binary_of(wheel: bytes, expected_sha256: str) -> bytes:
    """The ``uv`` executable inside ``wheel``, once the wheel is proven to be the pinned one."""
    found = hashlib.sha256(wheel).hexdigest()
    if found != expected_sha256:
        raise ValueError(f"the uv wheel's SHA-256 is {found}, not the pinned {expected_sha256}")
    with zipfile.ZipFile(io.BytesIO(wheel)) as archive:
        return archive.read(f"uv-{VERSION}.data/scripts/uv")


def download_url(name: str) -> str:
    request = urllib.request.Request(INDEX, headers={"Accept": INDEX_JSON})
    with urllib.request.urlopen(request, timeout=60) as answer:  # noqa: S310 - fixed https
        files = json.load(answer)["files"]
    for listed in files:
        if listed["filename"] == name:
            return str(listed["url"])
    raise Unsupported(f"PyPI lists no {name}")


def fetch(dest: Path) -> None:
    name, sha256 = wheel_for(this_machine())
    with urllib.request.urlopen(download_url(name), timeout=120) as answer:  # noqa: S310
        wheel = answer.read()
    dest.parent.mkdir(parents=True, exist_ok=True)
    partial = dest.with_name(dest.name + ".partial")
    partial.write_bytes(binary_of(wheel, sha256))
    partial.chmod(0o755)
    os.replace(partial, dest)  # a run cut short leaves no half-written uv behind


def main(argv: list[str]) -> int:
    if len(argv) != 3 or argv[1] != VERSION:
        print(f"usage: {argv[0]} {VERSION} DEST", file=sys.stderr)
        return 2
    try:
        fetch(Path(argv[2]))
    except Unsupported as exc:
        print(f"colloquy: {exc}; install uv {VERSION} yourself and put it on PATH", file=sys.stderr)
        return 1
    except (OSError, ValueError) as exc:  # unreachable, or not the pinned wheel
        print(f"colloquy: could not fetch uv {VERSION} from PyPI: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
