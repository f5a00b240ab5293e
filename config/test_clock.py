"""The test run's clock: the real one, or one moved for the whole run (`TEST_CLOCK`).

`TEST_CLOCK`, read by the process that starts the run (pytest):

- unset or empty: the real clock;
- `+1y`, `+30d` (or `-…`): that many years or days from now, same local time of day;
- `dst`: the next day Europe/London springs forward, at 00:30 local time (the clocks go
  from 01:00 GMT to 02:00 BST half an hour into the run);
- an ISO instant with its offset, e.g. `2027-10-31T00:30:00+00:00`.

That process works out the offset (destination minus now) once and exports it as
`TEST_CLOCK_OFFSET_S`; every process loading `config.settings_test` travels to its own
now plus that offset, so the servers, workers and schedulers the tests start (they inherit
the environment) read the same clock as the tests. The clock ticks from there
(time-machine with `tick=True`); `time.monotonic` is untouched.

Pure Python and standard library until a clock is asked for: `time_machine` (a test
dependency) is imported only then.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import time
from zoneinfo import ZoneInfo

#: The zone of the test tenants; `dst` is a change of its clocks.
ZONE = ZoneInfo("Europe/London")

_started: str | None = None  # what the running clock is, once started in this process


def next_spring_forward(now: dt.datetime, zone: ZoneInfo = ZONE) -> dt.datetime:
    """00:30 local time on the first day after `now` whose clocks go forward in `zone`."""
    day = now.astimezone(zone).date()
    for _ in range(2 * 366):
        midnight = dt.datetime.combine(day, dt.time(0), tzinfo=zone)
        noon = dt.datetime.combine(day, dt.time(12), tzinfo=zone)
        at = dt.datetime.combine(day, dt.time(0, 30), tzinfo=zone)
        if noon.utcoffset() > midnight.utcoffset() and at > now:
            return at
        day += dt.timedelta(days=1)
    raise ValueError(f"{zone.key} does not change its clocks")


def destination(spec: str, now: dt.datetime) -> dt.datetime:
    """Where `TEST_CLOCK=spec` moves the clock, seen from `now` (aware)."""
    spec = spec.strip()
    if spec == "dst":
        return next_spring_forward(now)
    relative = re.fullmatch(r"([+-])(\d+)([yd])", spec)
    if relative:
        n = int(relative[2]) * (1 if relative[1] == "+" else -1)
        local = now.astimezone(ZONE)
        if relative[3] == "d":
            moved = local.date() + dt.timedelta(days=n)
        else:
            year = local.year + n
            leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
            day = 28 if (local.month, local.day) == (2, 29) and not leap else local.day
            moved = dt.date(year, local.month, day)
        # The same wall-clock time on the new day (its offset may differ: GMT or BST).
        return dt.datetime.combine(moved, local.time().replace(tzinfo=None), tzinfo=ZONE)
    try:
        instant = dt.datetime.fromisoformat(spec)
    except ValueError:
        instant = None
    if instant is None or instant.tzinfo is None:
        raise ValueError(
            f"TEST_CLOCK={spec!r}: expected +1y, +30d, dst, or an ISO instant with its "
            "offset such as 2027-10-31T00:30:00+00:00"
        )
    return instant


def start_from_environment() -> str:
    """Move this process's clock as the environment says (once); say which clock it is."""
    global _started
    if _started is not None:
        return _started
    spec = os.environ.get("TEST_CLOCK", "").strip()
    offset = os.environ.get("TEST_CLOCK_OFFSET_S", "").strip()
    if not offset:
        if not spec:
            _started = f"real ({dt.datetime.now(ZONE):%Y-%m-%d %H:%M:%S %Z})"
            return _started
        real_now = dt.datetime.now(dt.UTC)
        offset = repr((destination(spec, real_now) - real_now).total_seconds())
        # Inherited by every process the run starts, which travel by the same amount.
        os.environ["TEST_CLOCK_OFFSET_S"] = offset
    offset_s = float(offset)

    import time_machine

    time_machine.travel(time.time() + offset_s, tick=True).start()
    # A ticking traveller counts from the first reading: take it now, not at first use.
    moved_now = dt.datetime.now(ZONE)
    _started = (
        f"moved (TEST_CLOCK={spec or '?'}, offset {offset_s:+.0f} s): "
        f"starts at {moved_now:%Y-%m-%d %H:%M:%S %Z} and ticks"
    )
    return _started
