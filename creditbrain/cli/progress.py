"""Progress bars for the file commands, on stderr and only where someone watches.

A bar appears when stderr is a terminal and the file has at least :data:`LARGE`
lines; piped or redirected output, and small files, stay exactly as before. The
bar disappears when the work ends, so the command's own summary is what remains.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

__all__ = ["LARGE", "tracked"]

#: Files with fewer lines finish before a bar would be worth drawing.
LARGE = 20_000
#: Lines between two updates of the bar (each update costs more than a line's work).
STEP = 1_000


def tracked(lines: Sequence[bytes], label: str, console: Console | None = None) -> Iterator[bytes]:
    """Yield ``lines`` in order, drawing a bar of how many were taken.

    >>> list(tracked([b"a", b"b"], "validating"))
    [b'a', b'b']
    """
    out = console if console is not None else Console(stderr=True)
    if len(lines) < LARGE or not out.is_terminal:
        yield from lines
        return
    columns = (
        *Progress.get_default_columns()[:1],
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=out, transient=True) as progress:
        task = progress.add_task(label, total=len(lines))
        for index, line in enumerate(lines, 1):
            yield line
            if index % STEP == 0:
                progress.update(task, completed=index)
        progress.update(task, completed=len(lines))
