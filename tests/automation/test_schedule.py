"""Cron in a named time zone: once per intended local time across DST changes (Berlin, 2026)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from smbgrowth.automation.schedule import due_ticks, next_tick
from smbgrowth.errors import WorkflowError

BERLIN = "Europe/Berlin"


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def ticks(cron: str, after: str, until: str) -> list[tuple[str, str]]:
    return [
        (t.key, t.at.isoformat(timespec="minutes"))
        for t in due_ticks(cron, BERLIN, utc(after), utc(until))
    ]


def polled(cron: str, start: str, end: str, step: timedelta) -> list[str]:
    """Tick keys as a worker polling every ``step`` would see them."""
    keys: list[str] = []
    at, stop = utc(start), utc(end)
    while at < stop:
        keys += [t.key for t in due_ticks(cron, BERLIN, at, min(at + step, stop))]
        at += step
    return keys


def test_daily_0230_across_spring_change_fires_once_per_day() -> None:
    # 2026-03-29 02:00 CET -> 03:00 CEST: 02:30 does not exist that night.
    assert ticks("30 2 * * *", "2026-03-27T12:00", "2026-03-31T12:00") == [
        ("2026-03-28T02:30", "2026-03-28T01:30+00:00"),  # CET
        ("2026-03-29T02:30", "2026-03-29T01:30+00:00"),  # missing time: 03:30 CEST, once
        ("2026-03-30T02:30", "2026-03-30T00:30+00:00"),  # CEST
        ("2026-03-31T02:30", "2026-03-31T00:30+00:00"),
    ]


def test_daily_0230_across_autumn_change_fires_once_at_first_occurrence() -> None:
    # 2026-10-25 03:00 CEST -> 02:00 CET: 02:30 happens twice that night.
    assert ticks("30 2 * * *", "2026-10-23T12:00", "2026-10-27T12:00") == [
        ("2026-10-24T02:30", "2026-10-24T00:30+00:00"),
        ("2026-10-25T02:30", "2026-10-25T00:30+00:00"),  # first 02:30 (CEST) only
        ("2026-10-26T02:30", "2026-10-26T01:30+00:00"),  # CET
        ("2026-10-27T02:30", "2026-10-27T01:30+00:00"),
    ]
    # The second 02:30 (01:30 UTC) alone is no tick.
    assert ticks("30 2 * * *", "2026-10-25T01:00", "2026-10-25T02:00") == []


def test_hourly_across_spring_change_each_local_hour_once() -> None:
    assert ticks("0 * * * *", "2026-03-28T23:30", "2026-03-29T03:30") == [
        ("2026-03-29T01:00", "2026-03-29T00:00+00:00"),
        ("2026-03-29T02:00", "2026-03-29T01:00+00:00"),  # skipped hour: at 03:00 CEST
        ("2026-03-29T03:00", "2026-03-29T01:00+00:00"),
        ("2026-03-29T04:00", "2026-03-29T02:00+00:00"),
        ("2026-03-29T05:00", "2026-03-29T03:00+00:00"),
    ]


def test_hourly_across_autumn_change_repeated_hour_once() -> None:
    assert ticks("0 * * * *", "2026-10-24T22:30", "2026-10-25T03:30") == [
        ("2026-10-25T01:00", "2026-10-24T23:00+00:00"),
        ("2026-10-25T02:00", "2026-10-25T00:00+00:00"),  # 01:00 UTC (02:00 again) fires nothing
        ("2026-10-25T03:00", "2026-10-25T02:00+00:00"),
        ("2026-10-25T04:00", "2026-10-25T03:00+00:00"),
    ]


@pytest.mark.parametrize(
    ("cron", "start", "end"),
    [
        ("0 * * * *", "2026-03-28T20:00", "2026-03-29T06:00"),
        ("0 * * * *", "2026-10-24T20:00", "2026-10-25T06:00"),
        ("30 2 * * *", "2026-03-25T00:00", "2026-04-02T00:00"),
        ("30 2 * * *", "2026-10-21T00:00", "2026-10-29T00:00"),
        ("*/15 2 * * *", "2026-10-24T20:00", "2026-10-25T06:00"),
    ],
)
@pytest.mark.parametrize("step_minutes", [5, 7, 60, 24 * 60])
def test_polling_in_any_steps_sees_each_tick_once(
    cron: str, start: str, end: str, step_minutes: int
) -> None:
    keys = polled(cron, start, end, timedelta(minutes=step_minutes))
    assert len(keys) == len(set(keys))
    assert keys == [t.key for t in due_ticks(cron, BERLIN, utc(start), utc(end))]


def test_autumn_quarter_hours_in_the_repeated_hour_fire_once() -> None:
    keys = [k for k, _ in ticks("*/15 2 * * *", "2026-10-24T23:00", "2026-10-25T03:00")]
    assert keys == [f"2026-10-25T02:{m:02d}" for m in (0, 15, 30, 45)]


def test_next_tick_and_naive_times() -> None:
    tick = next_tick("30 2 * * *", BERLIN, utc("2026-03-28T01:30"))
    assert (tick.key, tick.at) == ("2026-03-29T02:30", utc("2026-03-29T01:30"))
    with pytest.raises(WorkflowError, match="timezone-aware"):
        due_ticks("0 * * * *", BERLIN, datetime(2026, 1, 1), utc("2026-01-02T00:00"))
