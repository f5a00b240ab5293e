"""Reading the drivers' days into what the learner keeps (`routing.services.learning`):
driven legs (from the stop events' times, checked against the GPS) and times at the door.
The observations hold no positions: a leg keeps the grid cell of its middle and the hour
of the week it set off in, a visit the address's key, a hash of the customer and a size.

A leg goes to a stop the driver reached (arrived, delivered or failed tapped), from the
start depot or the stop reached before it, in the order they were reached (not the
planned one). It sets off when the stop before was delivered or failed (the first leg:
when the driver tapped "en route" to its stop, else the route's planned start), but not
before the driver tapped "en route" to this stop, and ends at "arrived". Times are the
phone's (`OrderEvent.created_at`). Legs not learned from are counted by why in
`LearningDay.skipped`.
"""

from __future__ import annotations

import bisect
import datetime as dt
import itertools
import logging
import math
import zoneinfo
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from dispatch.models import OrderEvent, OrderStatus
from dispatch.selectors.recurring import tenant_today
from routing import selectors as routing_selectors
from routing.models import LearningDay, LearningRun, Plan, PlanRoute, PlanStop
from routing.optimiser.matrix import MatrixError
from routing.optimiser.schedule import UNREACHABLE_S
from routing.services import learning
from routing.services.corrections import (
    address_key,
    customer_key,
    hour_of_week,
    leg_cell,
    size_of,
)
from routing.services.learning import LegSeen, VisitSeen
from routing.services.matrix import travel_matrix
from tenants.selectors import current_tenant
from tenants.tasks import enqueue_after_commit
from tracking import tasks
from tracking.models import LocationPing
from tracking.selectors import tracking_settings

logger = logging.getLogger(__name__)

#: A leg whose GPS has a hole longer than this (between fixes, or at either end) is not
#: learned from.
MAX_GAP_S = 300
#: The van standing still at least this long, farther than STOP_RADIUS_M from both ends
#: of the leg, is a pause (taken out of the leg's time).
PAUSE_S = 180
#: Standing this long at the start of a leg (at the depot, or after "delivered") is
#: waiting, not driving: the leg starts when the van moves.
WAIT_S = 120
STOP_RADIUS_M = 150.0
#: Fixes within this of the first fix of a stretch count as standing still (GPS noise).
STILL_RADIUS_M = 50.0
#: A leg more than this share pauses is not learned from.
MAX_PAUSED_SHARE = 0.5
#: A door time outside these is not learned from.
DOOR_MIN_S, DOOR_MAX_S = 10, 2 * 3600
#: Steps the app passed for the driver (tapping "delivered" straight away also records
#: "en route" and "arrived") are written within a moment of the tap: an event this close
#: before the next one of its order was not a tap of its own.
IMPLICIT_S = 10
#: The nightly run reads the days before yesterday again, this many (late uploads).
REREAD_DAYS = 1
#: A "learn now" is not queued again while a run started less than this ago is running.
RUNNING_FOR = dt.timedelta(hours=1)
#: A "learn now" asked for and not started within this is asked for again.
QUEUED_FOR = dt.timedelta(minutes=30)

ROAD_STATUSES = (
    OrderStatus.EN_ROUTE,
    OrderStatus.ARRIVED,
    OrderStatus.DELIVERED,
    OrderStatus.FAILED,
)


def _metres(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Distance between two (lat, lng) points, metres (equirectangular: short distances)."""
    mid = math.radians((a[0] + b[0]) / 2)
    dy = (a[0] - b[0]) * 111_320.0
    dx = (a[1] - b[1]) * 111_320.0 * math.cos(mid)
    return math.hypot(dx, dy)


@dataclass
class _Taps:
    en_route: dt.datetime | None = None
    arrived: dt.datetime | None = None
    done: dt.datetime | None = None  # delivered or failed

    @property
    def reached(self) -> dt.datetime | None:
        """When the driver got there, for the driving order (arrived, else done)."""
        return self.arrived or self.done

    def cleaned(self) -> _Taps:
        """The taps with the steps the app passed for the driver left out."""
        arrived, en_route = self.arrived, self.en_route
        if arrived and self.done and (self.done - arrived).total_seconds() < IMPLICIT_S:
            arrived = None
        after = arrived or self.done
        if en_route and after and (after - en_route).total_seconds() < IMPLICIT_S:
            en_route = None
        return _Taps(en_route, arrived, self.done)


def _taps(order_ids: list[int], actors: dict[int, str], start: dt.datetime, end: dt.datetime):
    """{order: _Taps} from the order events of `start`..`end` tapped by the order's driver
    (`actors`: order → "driver:<id>"); the last of each kind counts."""
    taps: dict[int, _Taps] = defaultdict(_Taps)
    events = (
        OrderEvent.objects.filter(
            order_id__in=order_ids,
            to_status__in=ROAD_STATUSES,
            created_at__gte=start,
            created_at__lt=end,
        )
        .order_by("created_at", "id")
        .values_list("order_id", "to_status", "created_at", "actor")
    )
    for order_id, status, at, actor in events:
        if actor != actors.get(order_id):
            continue  # a dispatcher's click is not a time on the road
        found = taps[order_id]
        if status == OrderStatus.EN_ROUTE:
            found.en_route = at
        elif status == OrderStatus.ARRIVED:
            found.arrived = at
        else:
            found.done = at
    return taps


def _pings(driver_id: int, start: dt.datetime, end: dt.datetime):
    rows = list(
        LocationPing.objects.filter(
            driver_id=driver_id, recorded_at__gte=start, recorded_at__lte=end
        )
        .order_by("recorded_at")
        .values_list("recorded_at", "lat", "lng")
    )
    return [r[0] for r in rows], [(r[1], r[2]) for r in rows]


def _paused_s(
    times: Sequence[dt.datetime],
    points: Sequence[tuple[float, float]],
    a: tuple[float, float],
    b: tuple[float, float],
) -> float:
    """Seconds the van stood still (stretches of at least PAUSE_S within STILL_RADIUS_M)
    farther than STOP_RADIUS_M from both `a` and `b`."""
    paused, k = 0.0, 0
    while k < len(times):
        anchor, j = points[k], k
        while j + 1 < len(times) and _metres(points[j + 1], anchor) <= STILL_RADIUS_M:
            j += 1
        still = (times[j] - times[k]).total_seconds()
        if (
            still >= PAUSE_S
            and _metres(anchor, a) > STOP_RADIUS_M
            and _metres(anchor, b) > STOP_RADIUS_M
        ):
            paused += still
        k = j + 1
    return paused


def _left_at(
    times: Sequence[dt.datetime],
    points: Sequence[tuple[float, float]],
    a: tuple[float, float],
    set_off: dt.datetime,
) -> dt.datetime | None:
    """When the van really left `a`, if it stood there (within STILL_RADIUS_M) for at
    least WAIT_S after `set_off`: the last of those fixes (waiting at the depot, or
    lingering at a stop after "delivered", is not driving). None when it did not wait."""
    left = None
    for at, point in zip(times, points, strict=True):
        if _metres(point, a) > STILL_RADIUS_M:
            break
        left = at
    if left is None or (left - set_off).total_seconds() < WAIT_S:
        return None
    return left


def _covered(times: Sequence[dt.datetime], start: dt.datetime, end: dt.datetime) -> bool:
    """Fixes all along `start`..`end`, with no hole longer than MAX_GAP_S."""
    if not times:
        return False
    edges = [start, *times, end]
    return all(
        (later - earlier).total_seconds() <= MAX_GAP_S
        for earlier, later in itertools.pairwise(edges)
    )


@dataclass
class _DayRead:
    legs: list[LegSeen]
    visits: list[VisitSeen]
    skipped: Counter


def _route_read(
    route: PlanRoute,
    stops: list[PlanStop],
    taps: dict[int, _Taps],
    zone: zoneinfo.ZoneInfo,
    out: _DayRead,
) -> None:
    reached = [
        s
        for s in stops
        if s.order_id is not None
        and s.order.lat is not None
        and s.order.lng is not None
        and taps.get(s.order_id) is not None
        and taps[s.order_id].reached is not None
    ]
    if not reached:
        return
    reached.sort(key=lambda s: (taps[s.order_id].reached, s.sequence))
    breaks = [s.sequence for s in stops if s.is_break]
    depot = route.vehicle.start_depot
    points = [(depot.lat, depot.lng)] + [(s.order.lat, s.order.lng) for s in reached]
    matrix = travel_matrix(points)
    cleaned = [taps[s.order_id].cleaned() for s in reached]
    starts = [t.en_route or t.arrived or t.done for t in cleaned]
    times, fixes = _pings(
        route.driver_id,
        min([route.starts_at, *[t for t in starts if t]]) - dt.timedelta(seconds=MAX_GAP_S),
        max(t.reached for t in cleaned) + dt.timedelta(seconds=MAX_GAP_S),
    )
    previous_done: dt.datetime | None = None
    previous_sequence = -1  # the depot
    for k, (stop, tap) in enumerate(zip(reached, cleaned, strict=True)):
        reason = _leg_read(
            route,
            stop,
            tap,
            k,
            previous_done,
            previous_sequence,
            breaks,
            points,
            matrix,
            times,
            fixes,
            zone,
            out,
        )
        if reason:
            out.skipped[reason] += 1
        previous_done, previous_sequence = tap.done, stop.sequence
        _visit_read(route, stop, tap, out)


def _leg_read(
    route,
    stop,
    tap,
    k,
    previous_done,
    previous_sequence,
    breaks,
    points,
    matrix,
    times,
    fixes,
    zone,
    out,
) -> str | None:
    """Adds the leg to `stop` to `out.legs`, or returns why it is not learned from."""
    if tap.arrived is None:
        return "no_arrival"
    set_off = (tap.en_route or route.starts_at) if k == 0 else previous_done
    if tap.en_route is not None and (set_off is None or tap.en_route > set_off):
        set_off = tap.en_route
    if set_off is None:
        return "no_set_off"
    low, high = sorted((previous_sequence, stop.sequence))
    if any(low < b < high for b in breaks):
        return "break"
    estimate = int(matrix.durations_s[k, k + 1])
    if estimate >= UNREACHABLE_S:
        return "unreachable"
    if estimate <= 0:
        return "no_estimate"
    elapsed = (tap.arrived - set_off).total_seconds()
    if elapsed <= 0:
        return "outlier"
    first = bisect.bisect_left(times, set_off)
    last = bisect.bisect_right(times, tap.arrived)
    if not _covered(times[first:last], set_off, tap.arrived):
        return "no_gps"
    a, b = points[k], points[k + 1]
    left = _left_at(times[first:last], fixes[first:last], a, set_off)
    if left is not None:  # the phone says it stood there until then
        set_off, elapsed = left, (tap.arrived - left).total_seconds()
        first = bisect.bisect_left(times, set_off)
        if elapsed <= 0:
            return "outlier"
    paused = _paused_s(times[first:last], fixes[first:last], a, b)
    if paused > MAX_PAUSED_SHARE * elapsed:
        return "paused"
    observed = round(elapsed - paused)
    if not learning.RATIO_LOW <= observed / estimate <= learning.RATIO_HIGH:
        return "outlier"
    out.legs.append(
        LegSeen(
            order_id=stop.order_id,
            driver_id=route.driver_id,
            hour_of_week=hour_of_week(set_off.astimezone(zone)),
            cell=leg_cell(a, b),
            estimate_s=estimate,
            observed_s=observed,
            distance_m=int(min(matrix.distances_m[k, k + 1], 2**31 - 1)),
        )
    )
    return None


def _visit_read(route: PlanRoute, stop: PlanStop, tap: _Taps, out: _DayRead) -> None:
    if tap.arrived is None or tap.done is None:
        return
    seconds = round((tap.done - tap.arrived).total_seconds())
    if not DOOR_MIN_S <= seconds <= DOOR_MAX_S:
        out.skipped["door_out_of_range"] += 1
        return
    order = stop.order
    out.visits.append(
        VisitSeen(
            order_id=order.pk,
            driver_id=route.driver_id,
            address_key=address_key(order.lat, order.lng),
            customer_key=customer_key(order.customer_phone or "", order.customer_email or ""),
            size=size_of(order.items),
            configured_s=int(order.service_s),
            observed_s=seconds,
        )
    )


def day_read(date: dt.date) -> LearningDay:
    """Read `date`'s published routes in the current schema into observations and store
    them (`learning.observations_store`: reading a day again replaces what it stored).
    Raises `MatrixError` when the road model cannot be had (the day stays unread)."""
    zone = zoneinfo.ZoneInfo(current_tenant().time_zone or "UTC")
    start = dt.datetime.combine(date, dt.time(), zone)
    end = dt.datetime.combine(date + dt.timedelta(days=1), dt.time(), zone)
    routes = list(
        PlanRoute.objects.filter(plan__date=date, plan__published_at__isnull=False)
        .select_related("vehicle__start_depot")
        .order_by("-plan__published_at", "pk")
    )
    stops_of: dict[int, list[PlanStop]] = defaultdict(list)
    seen: set[int] = set()
    stops = PlanStop.objects.filter(route__in=routes).select_related("order").order_by("sequence")
    order_of_route = {route.pk: k for k, route in enumerate(routes)}
    for stop in sorted(stops, key=lambda s: (order_of_route[s.route_id], s.sequence)):
        if stop.order_id is not None:
            if stop.order_id in seen:  # on two published plans: the newer one counts
                continue
            seen.add(stop.order_id)
        stops_of[stop.route_id].append(stop)
    actors = {
        stop.order_id: f"driver:{route.driver_id}"
        for route in routes
        for stop in stops_of[route.pk]
        if stop.order_id is not None
    }
    taps = _taps(list(actors), actors, start, end)
    out = _DayRead([], [], Counter())
    for route in routes:
        _route_read(route, stops_of[route.pk], taps, zone, out)
    return learning.observations_store(
        date=date, legs=out.legs, visits=out.visits, skipped=dict(out.skipped)
    )


def days_unread(until: dt.date, *, since: dt.date | None = None) -> list[dt.date]:
    """Dates up to `until` (from `since`) with a published plan and not read yet."""
    plans = Plan.objects.filter(published_at__isnull=False, date__lte=until)
    if since is not None:
        plans = plans.filter(date__gte=since)
    read = LearningDay.objects.filter(date__lte=until).values_list("date", flat=True)
    return sorted(set(plans.exclude(date__in=read).values_list("date", flat=True)))


def days_read(dates: Sequence[dt.date]) -> int:
    """Read each of `dates`, each in its own savepoint: one that cannot be read (no travel
    times now, or bad data) is logged and left unread for the next night, and the others
    are kept. Returns how many were read."""
    count = 0
    for date in dates:
        try:
            with transaction.atomic():
                day_read(date)
        except MatrixError:
            logger.exception("learning: %s not read (no travel times); left for later", date)
            continue
        except Exception:
            logger.exception("learning: %s could not be read; left for later", date)
            continue
        count += 1
    return count


def days_read_before_purge(cutoff: dt.datetime) -> int:
    """Read every unread day with a published plan whose GPS fixes are older than
    `cutoff` (the retention purge is about to delete them): the observations stay."""
    oldest = LocationPing.objects.filter(recorded_at__lt=cutoff).order_by("recorded_at").first()
    if oldest is None:
        return 0
    zone = zoneinfo.ZoneInfo(current_tenant().time_zone or "UTC")
    today = timezone.localdate(timezone=zone)
    until = min(timezone.localdate(cutoff, timezone=zone), today - dt.timedelta(days=1))
    since = timezone.localdate(oldest.recorded_at, timezone=zone)
    return days_read(days_unread(until, since=since))


def learn_run(
    *,
    today: dt.date | None = None,
    days: int = learning.DAYS,
    held_out: int = learning.HELD_OUT,
) -> LearningRun:
    """Read every unread day up to yesterday still within the GPS retention, then refresh
    the learned corrections (`learning.refresh`). The nightly job and "learn now" run it."""
    tenant = current_tenant()
    today = today or tenant_today()
    since = today - dt.timedelta(days=tenant.location_retention_days)
    unread = days_unread(today - dt.timedelta(days=1), since=since)
    # the day before yesterday again: a phone that was offline sends its day the next
    # morning, after that night's reading (reading a day again replaces it)
    again = [
        d
        for d in learning.published_dates(today - dt.timedelta(days=REREAD_DAYS + 1), today)
        if d < today - dt.timedelta(days=1) and d >= since and d not in unread
    ]
    days_read(sorted({*unread, *again}))
    window_s = tracking_settings().eta_window_minutes * 60  # what customers are promised
    return learning.refresh(today=today, days=days, held_out=held_out, window_s=window_s)


def _asked_key() -> str:
    """The cache key of "a run was asked for", per newest run: once the asked-for run (or
    any) starts, the key is another, so the next ask may queue again. django-tenants' key
    function adds the schema."""
    newest = routing_selectors.learning_runs(limit=1)
    return f"learning:asked-after:{newest[0].pk if newest else 0}"


def learn_under_way() -> tuple[str, dt.datetime] | None:
    """("running", since) while a learning run runs, ("queued", asked at) while one asked
    for has not started yet; None when `learn` may queue one."""
    running = routing_selectors.learning_run_under_way(timezone.now() - RUNNING_FOR)
    if running is not None:
        return "running", running.started_at
    asked = cache.get(_asked_key())
    return ("queued", dt.datetime.fromisoformat(asked)) if asked else None


def learn(*, days: int = learning.DAYS) -> bool:
    """Queue a learning run now (the "Learn now" button) once the current transaction
    commits, unless one runs or waits to start; True when this call queued it. A double
    click queues one: `cache.add` is atomic, so of two asks at once one wins and the
    other finds it waiting."""
    if learn_under_way() is not None:
        return False
    asked = timezone.now().isoformat()
    if not cache.add(_asked_key(), asked, timeout=QUEUED_FOR.total_seconds()):
        return False
    enqueue_after_commit(tasks.learn_now, days, task_name="learn-now")
    return True
