"""One progress-bar style for every command."""

from __future__ import annotations

from contextlib import contextmanager

from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)


def make_progress(transient: bool = False) -> Progress:
    return Progress(SpinnerColumn(), TextColumn("[bold]{task.description}"), BarColumn(),
                    MofNCompleteColumn(), TimeElapsedColumn(), TimeRemainingColumn(),
                    transient=transient)


@contextmanager
def progress_task(description: str, total: int | None):
    """``with progress_task("embedding", n) as advance: advance(k)``."""
    with make_progress() as progress:
        task = progress.add_task(description, total=total)
        yield lambda k=1: progress.advance(task, k)
