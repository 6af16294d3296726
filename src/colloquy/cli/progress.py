"""Progress bars on a terminal (stderr), silent when stderr is not one, so that scripts and
pipes see only the commands' own output."""

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import Progress, TimeElapsedColumn


@contextmanager
def progress_bar(label: str, enabled: bool) -> Iterator[Callable[[int, int], None]]:
    """``update(done, total)`` of a progress bar on a terminal (stderr); silent otherwise."""
    if not (enabled and sys.stderr.isatty()):
        yield lambda _done, _total: None
        return
    columns = (*Progress.get_default_columns(), TimeElapsedColumn())
    with Progress(*columns, console=Console(stderr=True)) as bar:
        task = bar.add_task(label, total=None)
        yield lambda done, total: bar.update(task, completed=done, total=total)


@contextmanager
def progress(total: int, label: str, enabled: bool) -> Iterator[Callable[[int], None]]:
    """``advance(n)`` of a progress bar on a terminal (stderr); silent otherwise."""
    with progress_bar(label, enabled) as update:
        done = 0
        update(done, total)

        def advance(n: int) -> None:
            nonlocal done
            done += n
            update(done, total)

        yield advance
