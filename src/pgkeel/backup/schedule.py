"""``backup schedule``: the crontab line and systemd units for automated daily backups.

The skill's "automated daily backups": one job that creates a backup, verifies it by
restoring, and prunes, stopping at the first failure (``&&``) so a failed backup is
never followed by a prune. Printed, never installed: installing a crontab or a unit is
the user's decision.

The cron expression has the five fields of crontab(5) (minute, hour, day of month,
month, day of week; numbers, ``*``, lists, ranges and ``/`` steps). The systemd timer
gets the same schedule as an ``OnCalendar=`` expression (systemd.time(7), "Calendar
Events"), with ``Persistent=true`` so a run missed while the machine was off happens
at boot. crontab(5) runs a job when *either* day field matches if both are
restricted, which OnCalendar cannot say: that case is refused.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from pathlib import Path

from pgkeel.errors import UsageError

__all__ = ["Schedule", "schedule"]

_FIELDS = (("minute", 0, 59), ("hour", 0, 23), ("day of month", 1, 31), ("month", 1, 12),
           ("day of week", 0, 7))
_DAYS = ("Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


@dataclass(frozen=True, slots=True)
class Schedule:
    """``crontab`` (one line), ``on_calendar`` (the timer's expression), ``service``
    and ``timer`` (unit file texts), ``command`` (the shell command both run)."""

    crontab: str
    on_calendar: str
    command: str
    service: str
    timer: str


def _term(text: str, name: str, low: int, high: int) -> str:
    """One comma-separated term of a cron field, in OnCalendar syntax."""
    base, _, step = text.partition("/")
    if step and not step.isdigit():
        raise UsageError(f"cron {name} {text!r}: the step must be a number",
                         hint="e.g. */15")
    if base == "*":
        first, last = low, None
    elif "-" in base:
        a, _, b = base.partition("-")
        if not (a.isdigit() and b.isdigit()):
            raise UsageError(f"cron {name} {text!r} is not a range of numbers",
                             hint="e.g. 1-5")
        first, last = int(a), int(b)
    elif base.isdigit():
        first, last = int(base), int(base)
    else:
        raise UsageError(f"cron {name} {text!r} is not supported (names such as MON "
                         "or JAN are not)", hint="use numbers, *, lists, ranges and steps")
    for value in (first, last):
        if value is not None and not low <= value <= high:
            raise UsageError(f"cron {name} {value} is outside {low}-{high}",
                             hint="see crontab(5)")
    if base == "*" and not step:
        return "*"
    if step:
        return f"{first:02d}/{step}" if last is None else f"{first:02d}..{last:02d}/{step}"
    return f"{first:02d}" if first == last else f"{first:02d}..{last:02d}"


def _weekdays(text: str) -> str:
    days: list[str] = []
    for part in text.split(","):
        base, _, step = part.partition("/")
        first, last = (0, 6) if base == "*" else (
            (int(base.split("-")[0]), int(base.split("-")[1])) if "-" in base
            else (int(base), int(base)))
        days += [_DAYS[d] for d in range(first, last + 1, int(step or 1))]
    return ",".join(dict.fromkeys(days))


def _on_calendar(fields: list[str]) -> str:
    minute, hour, dom, month, dow = (
        ",".join(_term(t, name, low, high) for t in value.split(","))
        for value, (name, low, high) in zip(fields, _FIELDS, strict=True))
    if dom != "*" and dow != "*":
        raise UsageError("cron with both a day of month and a day of week runs on either "
                         "(crontab(5)); a systemd timer cannot say that",
                         hint="restrict only one of the two day fields")
    days = "" if dow == "*" else _weekdays(fields[4]) + " "
    return f"{days}*-{month}-{dom} {hour}:{minute}:00"


def schedule(cron: str, project: Path, *, keep_daily: int = 7, keep_weekly: int = 4,
             keep_monthly: int = 6, pgkeel: str = "pgkeel") -> Schedule:
    """Build the crontab line and systemd units running create, verify and prune.

    ``cron`` is a five-field crontab(5) expression; ``project`` the directory the job
    runs in (its settings and backups directory apply); ``pgkeel`` the command to
    call. Raises ``UsageError`` (exit 2) for an expression that is not five valid
    fields, or restricts both day fields.
    """
    fields = cron.split()
    if len(fields) != 5:
        raise UsageError(f"cron expression {cron!r} has {len(fields)} fields, not 5",
                         hint='e.g. --cron "0 2 * * *" (minute hour day month weekday)')
    on_calendar = _on_calendar(fields)
    where = shlex.quote(str(project))
    command = (f"cd {where} && {pgkeel} backup create && {pgkeel} backup verify latest "
               f"&& {pgkeel} backup prune --keep-daily {keep_daily} --keep-weekly "
               f"{keep_weekly} --keep-monthly {keep_monthly}")
    service = ("[Unit]\nDescription=pgkeel backup: create, verify by restore, prune\n\n"
               "[Service]\nType=oneshot\n"
               f"WorkingDirectory={project}\n"
               f"ExecStart=/bin/sh -c {shlex.quote(command)}\n")
    timer = ("[Unit]\nDescription=Run pgkeel-backup.service on schedule\n\n"
             f"[Timer]\nOnCalendar={on_calendar}\nPersistent=true\n\n"
             "[Install]\nWantedBy=timers.target\n")
    return Schedule(f"{' '.join(fields)} {command}", on_calendar, command, service, timer)
