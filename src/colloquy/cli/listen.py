"""Can ``serve`` listen where it was told to? Asked before migrations, so that a second server
on the same port says so at once, naming the setting to change, instead of migrating first and
then failing inside uvicorn with a bare ``[Errno 98]``."""

import errno
import socket

_PORT_FIX = "choose another with --port or CQ_PORT"
_HOST_FIX = "set --host or CQ_HOST"


def listen_problem(host: str, port: int) -> str | None:
    """Why listening on ``host:port`` would fail, or ``None``: every address the host resolves
    to is bound as uvicorn binds it (``SO_REUSEADDR``), and released at once."""
    try:
        addresses = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        return f"cannot resolve the host {host!r} ({exc.strerror}); {_HOST_FIX}"
    for family, kind, proto, _name, address in addresses:
        with socket.socket(family, kind, proto) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind(address)
            except OSError as exc:
                return _explain(exc, host, port)
    return None


def _explain(exc: OSError, host: str, port: int) -> str:
    if exc.errno == errno.EADDRINUSE:
        return f"port {port} on {host} is already in use (another colloquy?); {_PORT_FIX}"
    if exc.errno == errno.EACCES:
        return f"not allowed to listen on port {port} (below 1024 needs privileges); {_PORT_FIX}"
    if exc.errno == errno.EADDRNOTAVAIL:
        return f"{host} is not an address of this machine; {_HOST_FIX}"
    return f"cannot listen on {host}:{port}: {exc.strerror}"
