"""Tests for replay._model.clock: the one clock and the named timestamp formats."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

import replay
from replay._model.clock import (
    iso,
    iso_from_run_id,
    junit_timestamp,
    now_iso,
    parse_iso,
    run_id_stamp,
    utc_now,
)
from replay._model.names import make_run_id

UTC = timezone.utc
ISO = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (datetime(2026, 11, 26, 22, 10, 58, 123456, tzinfo=UTC), "2026-11-26T22:10:58.123Z"),
        (datetime(2026, 11, 26, 22, 10, 58, tzinfo=UTC), "2026-11-26T22:10:58.000Z"),
        (datetime(2026, 1, 2, 3, 4, 5, 999999, tzinfo=UTC), "2026-01-02T03:04:05.999Z"),
        (datetime(1, 1, 1, tzinfo=UTC), "0001-01-01T00:00:00.000Z"),
    ],
)
def test_iso_spells_utc_with_milliseconds(moment: datetime, expected: str) -> None:
    """Events, summaries and attempts spell a moment as UTC with milliseconds and `Z`."""
    assert expected == iso(moment)


@given(st.datetimes(timezones=st.just(UTC)))
def test_iso_round_trips_to_the_millisecond(moment: datetime) -> None:
    """What `iso` writes, `parse_iso` reads back as the same moment, cut to milliseconds."""
    expected = moment.replace(microsecond=moment.microsecond // 1000 * 1000)
    assert expected == parse_iso(iso(moment))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-26T22:10:58.123Z", datetime(2026, 11, 26, 22, 10, 58, 123000, tzinfo=UTC)),
        ("2026-11-26T22:10:58Z", datetime(2026, 11, 26, 22, 10, 58, tzinfo=UTC)),
        ("2026-11-26T22:10:58", datetime(2026, 11, 26, 22, 10, 58, tzinfo=UTC)),
        (
            " 2026-11-26T23:10:58+01:00 ",
            datetime(2026, 11, 26, 23, 10, 58, tzinfo=timezone(timedelta(hours=1))),
        ),
        ("not a time", None),
        ("", None),
    ],
)
def test_parse_iso(text: str, expected: datetime | None) -> None:
    """ISO 8601 with `Z`, an offset or no zone (taken as UTC); anything else is None."""
    assert expected == parse_iso(text)


@pytest.mark.parametrize(
    ("moment", "stamp", "from_stamp"),
    [
        (
            datetime(2026, 2, 6, 21, 23, 20, 999, tzinfo=UTC),
            "20260206T212320Z",
            "2026-02-06T21:23:20Z",
        ),
        (datetime(2026, 11, 26, 0, 0, 0, tzinfo=UTC), "20261126T000000Z", "2026-11-26T00:00:00Z"),
    ],
)
def test_run_id_stamp_round_trip(moment: datetime, stamp: str, from_stamp: str) -> None:
    """A run id starts with its UTC stamp; read back, the stamp is ISO 8601 to the second."""
    assert stamp == run_id_stamp(moment)
    assert make_run_id(moment).startswith(stamp + "-")
    assert from_stamp == iso_from_run_id(stamp)


@pytest.mark.parametrize("text", ["local-run", "20260206T212320", "", "2026-02-06T21:23:20Z"])
def test_iso_from_run_id_keeps_what_is_no_stamp(text: str) -> None:
    """An upstream run id that is not a stamp is kept as it is, not guessed at."""
    assert text == iso_from_run_id(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-02-06T21:00:00Z", "2026-02-06T21:00:00"),
        ("2026-02-06T21:00:00.789Z", "2026-02-06T21:00:00"),
        ("2026-02-06T22:00:00+01:00", "2026-02-06T21:00:00"),
        ("0001-01-01T00:00:00+05:00", None),
        ("not a time", None),
    ],
)
def test_junit_timestamp(text: str, expected: str | None) -> None:
    """JUnit's `timestamp` is UTC without zone or fraction; year 1 with an offset has none."""
    assert expected == junit_timestamp(text)


def test_now_is_utc_and_spelled_by_iso() -> None:
    """The clock reads UTC, and `now_iso` is `iso` of it."""
    before = utc_now()
    text = now_iso()
    after = utc_now()
    assert before.tzinfo is UTC
    assert ISO.fullmatch(text)
    moment = parse_iso(text)
    assert moment is not None
    assert before - timedelta(milliseconds=1) <= moment <= after


# Reading the clock or spelling a moment anywhere else starts a second copy of the format.
_OTHER_CLOCKS = re.compile(r"datetime\.now\(|date\.today\(|\.strftime\(|strptime\(|timespec=")


def test_only_the_clock_module_reads_the_time_or_spells_a_moment() -> None:
    """No module but `replay._model.clock` reads the clock or formats a timestamp."""
    package = Path(replay.__file__).parent
    offenders = [
        f"{path.relative_to(package)}:{number}"
        for path in sorted(package.rglob("*.py"))
        if path != package / "_model" / "clock.py"
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if _OTHER_CLOCKS.search(line)
    ]
    assert [] == offenders
