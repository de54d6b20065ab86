"""Cron schedules in a named time zone, exactly once per intended local time.

A schedule's ticks are the *local* wall-clock times its cron expression names
(``0 9 * * 1``: every Monday at 09:00 in the zone). Each tick is identified by
that local time, so:

- across the autumn change, a local time that occurs twice (01:30) fires once,
  at its first occurrence;
- across the spring change, a local time that does not exist (02:30) fires
  once, at the same distance after the change as it would have been before it
  (03:30 local), as ``zoneinfo`` maps such times;
- after downtime, every tick between the last one handled and now is due,
  each once (the run's ID is the workflow and the local tick time).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from croniter import croniter

from smbgrowth.errors import WorkflowError

__all__ = ["Tick", "due_ticks", "next_tick"]

#: Never catch up more than this many ticks of one schedule at once.
MAX_CATCH_UP = 1000


class Tick:
    """One intended local time of a schedule and the instant it happens."""

    __slots__ = ("at", "local")

    def __init__(self, local: datetime, zone: ZoneInfo) -> None:
        self.local = local.replace(tzinfo=None)
        self.at = local.replace(tzinfo=zone, fold=0).astimezone(UTC)

    @property
    def key(self) -> str:
        """The tick's identity: its local wall-clock time."""
        return self.local.isoformat(timespec="minutes")

    def __repr__(self) -> str:
        return f"Tick({self.key} local, {self.at.isoformat()})"


def _local(instant: datetime, zone: ZoneInfo) -> datetime:
    if instant.tzinfo is None:
        raise WorkflowError("schedule times must be timezone-aware")
    return instant.astimezone(zone).replace(tzinfo=None)


def due_ticks(cron: str, timezone: str, after: datetime, until: datetime) -> list[Tick]:
    """Ticks whose instant is in ``(after, until]``, in order, each local time once."""
    zone = ZoneInfo(timezone)
    # Walk local wall-clock times: croniter on naive datetimes never skips or repeats.
    start = _local(after, zone) - timedelta(hours=3)  # room for a DST shift
    it = croniter(cron, start)
    ticks: list[Tick] = []
    seen: set[datetime] = set()
    end = _local(until, zone) + timedelta(hours=3)
    while True:
        local = it.get_next(datetime)
        if local > end:
            break
        if local in seen:
            continue
        seen.add(local)
        tick = Tick(local, zone)
        if after < tick.at <= until:
            ticks.append(tick)
            if len(ticks) > MAX_CATCH_UP:
                raise WorkflowError(
                    f"schedule {cron!r} has more than {MAX_CATCH_UP} ticks to catch up; "
                    "check the worker's clock or the schedule"
                )
    ticks.sort(key=lambda t: (t.at, t.local))
    return ticks


def next_tick(cron: str, timezone: str, after: datetime) -> Tick:
    """The first tick strictly after ``after``."""
    zone = ZoneInfo(timezone)
    it = croniter(cron, _local(after, zone) - timedelta(hours=3))
    while True:
        tick = Tick(it.get_next(datetime), zone)
        if tick.at > after:
            return tick
