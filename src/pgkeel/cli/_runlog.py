"""Live output of a migration run, and the last word of an interrupted one.

:class:`RunLog` is the runner's progress callback: each migration applied or rolled
back is printed on stdout the moment it finishes (Rich flushes after every print, so a
CI log piped to a file shows it too, not only a terminal), lock waits and retries on
stderr. :meth:`RunLog.interruptible` turns SIGTERM into ``KeyboardInterrupt`` as SIGINT
already is, so both stop the run the same way (psycopg cancels the running statement,
the runner rolls back a transaction), then says which migration was running, the state
it left, and exits 130 or 143: 128 plus the signal number, as a shell reports a process
a signal ended (Bash manual, "Exit Status").
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.markup import escape

from pgkeel.cli._common import err, note, out

if TYPE_CHECKING:
    from types import FrameType

    from pgkeel.migrations.progress import ProgressEvent

__all__ = ["RunLog"]

_VERB = {"apply_start": "applying", "rollback_start": "rolling back"}


class RunLog:
    """Print a run's progress as it happens; remember what ran, for an interrupt."""

    def __init__(self) -> None:
        self.finished = 0
        self.locked = False
        self.running: ProgressEvent | None = None
        self.interrupted: ProgressEvent | None = None

    def __call__(self, event: ProgressEvent) -> None:
        """Render ``event``: finished steps on stdout, the rest on stderr."""
        label = f"{event.version} {event.name}" if event.version else ""
        kind = event.kind
        if kind == "lock_wait":
            note(event.detail or "waiting for pgkeel's lock")
        elif kind == "lock_acquired":
            self.locked = True
        elif kind == "retry":
            note(f"{label}: {event.detail}")
        elif kind == "backup_start":
            note(event.detail or "backing up")
        elif kind == "backup_done" and event.detail:
            size = Path(event.detail).stat().st_size
            out.print(f"backup: {escape(event.detail)} ({size:,} bytes)")
        elif kind in _VERB:
            self.running = event
            if err.is_terminal:
                extra = f" ({event.detail})" if event.detail else ""
                err.print(f"[dim]{_VERB[kind]} {escape(label)}{escape(extra)}...[/dim]")
        elif kind in ("apply_done", "rollback_done"):
            self.running = None
            self.finished += 1
            verb = "applied" if kind == "apply_done" else "rolled back"
            how = f" ({event.detail})" if event.detail else ""
            out.print(f"{verb} {escape(label)}{escape(how)} in {event.elapsed_ms:.0f} ms")
        elif kind == "interrupted":
            self.interrupted = event

    @contextmanager
    def interruptible(self) -> Iterator[None]:
        """Run the block with SIGTERM raising ``KeyboardInterrupt``; on either signal,
        print what was interrupted and the state left, and exit 130 (SIGINT) or 143
        (SIGTERM)."""
        received = [signal.SIGINT]

        def on_sigterm(signum: int, frame: FrameType | None) -> None:
            received[0] = signal.SIGTERM
            raise KeyboardInterrupt

        previous = signal.signal(signal.SIGTERM, on_sigterm)
        try:
            yield
        except KeyboardInterrupt:
            self._say_interrupted(signal.Signals(received[0]).name)
            raise typer.Exit(128 + received[0]) from None
        finally:
            signal.signal(signal.SIGTERM, previous)

    def _say_interrupted(self, signame: str) -> None:
        running = self.running
        if running is not None:
            state = (self.interrupted.detail if self.interrupted is not None
                     and self.interrupted.detail else "its state is not known")
            what = (f"interrupted by {signame} while {_VERB[running.kind]} "
                    f"{running.version} {running.name} ({self.finished} migration(s) "
                    f"finished before it): {state}")
        elif not self.locked:
            what = f"interrupted by {signame} before pgkeel held its lock: nothing ran"
        else:
            what = (f"interrupted by {signame} while no migration was running: "
                    f"{self.finished} finished")
        err.print(f"[bold red]error:[/bold red] {escape(what)} [bold]— fix:[/bold] see "
                  "the history with `pgkeel migrate status`")
