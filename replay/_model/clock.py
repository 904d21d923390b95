"""The clock and the timestamp formats: the one place that reads the time or spells a moment.

Every artifact keeps its own wire format, byte for byte; each format has a name here:

- `iso`: `2026-11-26T22:10:58.123Z`, UTC with milliseconds (events, summary, attempts,
  diff, merge, audit);
- `RUN_ID_FORMAT`: `20261126T221058Z`, the sortable prefix of a run id (upstream's spelling);
- `JUNIT_FORMAT`: `2026-11-26T22:10:58`, UTC without a zone, as the JUnit schema's
  `timestamp` wants.
"""

from __future__ import annotations

from datetime import date, datetime, timezone

RUN_ID_FORMAT = "%Y%m%dT%H%M%SZ"
"""A run id's timestamp: no separators, so run directories sort by time."""

JUNIT_FORMAT = "%Y-%m-%dT%H:%M:%S"
"""The JUnit schema's `timestamp` (an `xs:dateTime` without a zone or fraction)."""


def utc_now() -> datetime:
    """The current time in UTC (the one clock replay reads)."""
    return datetime.now(timezone.utc)


def local_today() -> date:
    """Today's date on the local calendar (quarantine and flake windows count local days)."""
    return date.today()


def iso(moment: datetime) -> str:
    """`2026-11-26T22:10:58.123Z`: `moment` (aware, UTC) with milliseconds."""
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def now_iso() -> str:
    """The current time as `iso` spells it."""
    return iso(utc_now())


def parse_iso(text: str) -> datetime | None:
    """An ISO 8601 moment (`Z` or an offset; none means UTC) as an aware datetime, or None."""
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def run_id_stamp(moment: datetime) -> str:
    """`20261126T221058Z`: the time part of a run id."""
    return moment.strftime(RUN_ID_FORMAT)


def iso_from_run_id(stamp: str) -> str:
    """A run id's stamp (`20260206T212320Z`) as ISO 8601 to the second, or `stamp` as it is."""
    try:
        moment = datetime.strptime(stamp, RUN_ID_FORMAT).replace(tzinfo=timezone.utc)
    except ValueError:
        return stamp
    # Whole seconds: a run id carries no fraction, and upstream wrote none.
    return moment.isoformat().replace("+00:00", "Z")


def junit_timestamp(text: str) -> str | None:
    """`text` (ISO 8601) as JUnit's `timestamp` in UTC, or None if it is no moment."""
    moment = parse_iso(text)
    if moment is None:
        return None
    try:
        return moment.astimezone(timezone.utc).strftime(JUNIT_FORMAT)
    except OverflowError:  # year 1 with a positive offset has no UTC time
        return None
