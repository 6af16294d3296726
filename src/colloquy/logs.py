"""One logging setup for every process that serves: the command's, and each worker that
``serve --workers N`` spawns (a fresh interpreter with no handlers). Configured before the app is
built, so that a library's own ``logging.basicConfig`` (the MCP SDK calls one, with its rich
handler) finds the root logger set up and changes nothing."""

import logging


def configure(level: str) -> None:
    logging.basicConfig(level=level.upper(), format="%(levelname)s %(name)s: %(message)s")
