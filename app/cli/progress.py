"""The progress bar of a command that counts its way through a known total (reindex, purge)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.progress import Progress

__all__ = ["ReportProgress", "counting_bar"]

ReportProgress = Callable[[int, int], None]  # progress(done, total)


def counting_bar(label: str, unit: str) -> tuple[Progress, ReportProgress]:
    """A rich progress bar (shown from the first report on: the total is known then) and the
    function that moves it; its rate is counted in ``unit`` per second. Stop the bar when
    the work ends if it started (``bar.live.is_started``)."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        Task,
        TaskProgressColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )
    from rich.text import Text

    class Speed(TransferSpeedColumn):
        def render(self, task: Task) -> Text:
            speed = task.finished_speed or task.speed
            shown = "?" if speed is None else f"{speed:,.0f} {unit}/s"
            return Text(shown, style="progress.data.speed")

    bar = Progress(
        TextColumn(label),
        BarColumn(),
        MofNCompleteColumn(),
        TaskProgressColumn(),
        Speed(),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
    )
    task = bar.add_task(label, total=None)

    def update(done: int, total: int) -> None:
        bar.update(task, completed=done, total=max(total, done))
        if not bar.live.is_started:
            bar.start()

    return bar, update
