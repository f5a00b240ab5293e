"""Address search in one region's addresses (imported from its OpenStreetMap extract).

`address_search(region, query)` answers candidates, best first, each with a confidence
from 0 to 1 that means the same thing everywhere:

- 1.0: the street (or a place) by its exact name, and that very house number;
- about 0.9 to 0.97: a typo or two in the street's name, or the house number with another
  letter ("5" for "5 A"), or a named place;
- about 0.5 to 0.6: the street is found but not that number (the nearest known number is
  given, and the label says so), or no house number was given at all;
- lower: partial names (what a type-ahead shows while the user types);
- nothing answers when no name in the region is near the query's words.

A postcode or a city that disagrees with the candidate's lowers it (times 0.85); words of the
query that nothing explains lower it too; two equally good candidates far apart (the same
street in two towns) lower the first. How it works: the query is folded (accents off) and
split into a house number, a postcode and a city (each recognised against the region's own
postcodes and cities) and the words of a name. Names come from PostgreSQL's full-text
search (prefixes of the words, for a type-ahead) and from a fuzzy match (rapidfuzz) of the
words against the region's distinct street and place names, held in memory per process
and import; the rows of the best names are then scored in Python.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from django.db import connection
from django.db.models import Q
from rapidfuzz import fuzz, process

from geo.engine import haversine_m
from geo.models import Address, AddressRegion, address_label, fold, number_base, number_key

MAX_QUERY_CHARS = 200
MAX_TOKENS = 12
MAX_LIMIT = 20
#: A name this similar (rapidfuzz ratio, 0..100) to the query's words is worth scoring.
NAME_CUTOFF = 65.0
NAMES_SCORED = 8
ROWS_READ = 5_000
#: Below this, a candidate is not shown at all.
SHOWN_FROM = 0.3
#: What a candidate keeps of its name's score when…
EXACT_NUMBER = 1.0
LETTER_DIFFERS = 0.92  # "5" asked, "5 B" found (or the other way)
STAIRCASE = 0.95  # "5 A" asked, only "5" known: a Finnish staircase letter, the same house
NUMBER_COMPLETES = 0.6  # "1" asked, "12" found: a type-ahead's completion
NUMBER_NOT_FOUND = 0.5  # the street, not that number
NO_NUMBER = 0.55  # the street, and the query gave no number
PLACE = 0.97
#: The postcode or the city given is not the candidate's: below the geocoder's default
#: threshold (0.8), so an address that may be in another town is never placed unasked.
PART_DISAGREES = 0.75
UNEXPLAINED_WORD = 0.06
UNEXPLAINED_MAX = 0.18
AMBIGUOUS = 0.85
AMBIGUOUS_APART_M = 1_000.0
TOWN_ONLY = 0.5  # the query's only words are a town's name: a place named so is a guess
SAME_PLACE_M = 300.0  # one address twice (a node and its building) closer than this is one


@dataclass(frozen=True)
class Candidate:
    """One answer: where (lat, lon), how sure (confidence 0..1), the matched address as
    text (label), its parts, and how it matched (match: exact, fuzzy, place, street — the
    street only — or prefix, a completion of what is typed); note says what is missing."""

    lat: float
    lon: float
    confidence: float
    label: str
    kind: str = Address.Kind.ADDRESS
    match: str = "exact"
    housenumber: str = ""
    street: str = ""
    postcode: str = ""
    city: str = ""
    name: str = ""
    note: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class _Index:
    """A region's distinct names, postcodes and cities (folded), for one import."""

    stamp: object
    names: list[str] = field(default_factory=list)
    streets: set[str] = field(default_factory=set)
    places: set[str] = field(default_factory=set)
    aliases: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    postcodes: set[str] = field(default_factory=set)
    cities: set[str] = field(default_factory=set)


_indexes: dict[str, _Index] = {}
_lock = threading.Lock()


def address_regions() -> list[AddressRegion]:
    """The regions whose addresses are imported here, by name."""
    return list(AddressRegion.objects.all())


def _index(region: str) -> _Index | None:
    stamp = AddressRegion.objects.filter(name=region).values_list("imported_at", flat=True).first()
    if stamp is None:
        return None
    known = _indexes.get(region)
    if known is not None and known.stamp == stamp:
        return known
    index = _Index(stamp)
    rows = (
        Address.objects.filter(region=region)
        .values_list("kind", "street_key", "name_key", "city_key", "postcode")
        .distinct()
    )
    for kind, street, name, city, postcode in rows.iterator(chunk_size=20_000):
        if kind == Address.Kind.PLACE and name:
            index.places.add(name)
        if street:
            index.streets.add(street)
            if kind == Address.Kind.STREET and name:
                index.aliases[name].add(street)
        if city:
            index.cities.add(city)
        if postcode:
            index.postcodes.add(fold(postcode))
    index.names = sorted(index.streets | index.places | set(index.aliases))
    with _lock:
        _indexes[region] = index
    return index


@dataclass
class _Query:
    words: list[str]
    number: str = ""
    postcode: str = ""
    city: str = ""
    letter_given: bool = False
    town_only: bool = False


def _parse(text: str, index: _Index) -> _Query:
    """The folded query split into its parts, each recognised against the region's own."""
    toks = fold(text[:MAX_QUERY_CHARS]).split()[:MAX_TOKENS]
    used = [False] * len(toks)
    query = _Query(words=[])
    # a postcode: one of the region's, of one token or two ("sw1a 1aa")
    for size in (2, 1):
        for i in range(len(toks) - size + 1):
            if any(used[i : i + size]) or query.postcode:
                continue
            text_ = " ".join(toks[i : i + size])
            if text_ in index.postcodes and any(c.isdigit() for c in text_):
                others = [t for j, t in enumerate(toks) if j != i and any(c.isdigit() for c in t)]
                if size == 2 or len(text_) >= 5 or others:
                    query.postcode = text_
                    used[i : i + size] = [True] * size
    # a postcode the region does not know ("00170", five digits or a leading zero) is
    # no house number either: left out, neither for nor against a candidate
    for i, tok in enumerate(toks):
        if not used[i] and tok.isdigit() and (len(tok) >= 5 or (tok[0] == "0" and len(tok) >= 4)):
            used[i] = True
    # a house number: the first other token with a digit, and a letter right after it
    for i, tok in enumerate(toks):
        if used[i] or not any(c.isdigit() for c in tok):
            continue
        key = number_key(tok)
        letter = toks[i + 1] if i + 1 < len(toks) and not used[i + 1] else ""
        if key and tok.isdigit() and len(letter) == 1 and letter.isalpha():
            key += letter
            used[i + 1] = True
        query.number, query.letter_given = key, not key[-1:].isdigit()
        used[i] = True
        break
    # a city: one of the region's, unless it is all the words there are
    words = [i for i, t in enumerate(toks) if not used[i] and not any(c.isdigit() for c in t)]
    for size in (2, 1):
        for start in range(len(words) - size + 1):
            span = words[start : start + size]
            if query.city or any(used[i] for i in span) or span[-1] - span[0] != size - 1:
                continue
            name = " ".join(toks[i] for i in span)
            if name in index.cities and len(span) < len(words):
                query.city = name
                for i in span:
                    used[i] = True
    query.words = [toks[i] for i in words if not used[i]]
    query.town_only = " ".join(query.words) in index.cities
    return query


#: Words of a query looked at: an address says what it must in fewer, and each word more
#: costs fuzzy comparisons against every name of the region.
MAX_WORDS = 8


def _windows(words: list[str]) -> list[tuple[int, int, str]]:
    """Every run of up to four consecutive words of the first MAX_WORDS: (start, end, text)."""
    words = words[:MAX_WORDS]
    return [
        (i, j, " ".join(words[i:j]))
        for i in range(len(words))
        for j in range(i + 1, min(len(words), i + 4) + 1)
    ]


def _name_score(window: str, name: str) -> float:
    """How near a run of the query's words is to a name, 0..100: rapidfuzz's ratio (typos,
    a letter missing), or, while the words are the starts of the name's words (what a
    type-ahead has so far, "mann" or "pohj rauta"), more as more of the name is typed."""
    score = fuzz.ratio(window, name)
    typed, words = window.split(), name.split()
    if (
        all(len(t) >= 3 for t in typed)
        and len(typed) <= len(words)
        and all(w.startswith(t) for t, w in zip(typed, words, strict=False))
    ):
        score = max(score, 75.0 + 25.0 * len(window) / len(name))
    return score


def _sure(score: float) -> float:
    """A name's score (0..100) as confidence: exact 1.0; each point lost counts twice, so
    that a name two typos off (93) is 0.87 and a loose one (65) is 0.3."""
    return max(0.0, 1.0 - 2.0 * (1.0 - score / 100.0))


def _names(query: _Query, index: _Index, region: str) -> dict[str, tuple[float, set[int]]]:
    """The region's names nearest the query's words: name → (score 0..100, which of the
    query's words it explains)."""
    windows = _windows(query.words)
    found: set[str] = set()
    for _, _, text in windows:
        for name, _, _ in process.extract(
            text, index.names, scorer=fuzz.ratio, limit=NAMES_SCORED, score_cutoff=NAME_CUTOFF
        ):
            found.add(name)
    found |= _prefixed(query.words, region)
    scored: dict[str, tuple[float, set[int]]] = {}
    for name in found:
        best, explained = 0.0, set()
        for start, end, text in windows:
            score = _name_score(text, name)
            if score > best or (score == best and end - start > len(explained)):
                best, explained = score, set(range(start, end))
        if best >= NAME_CUTOFF:
            scored[name] = (best, explained)
    top = sorted(scored.items(), key=lambda kv: (-kv[1][0], kv[0]))[:NAMES_SCORED]
    return dict(top)


def _prefixed(words: list[str], region: str) -> set[str]:
    """Names with every word of the query as the start of one of theirs (full-text search,
    'simple' parser over folded words; the words are ours, letters and digits only)."""
    terms = [f"{w}:*" if len(w) >= 3 else w for w in words if w.isalnum()]
    if not terms:
        return set()
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT DISTINCT kind, street_key, name_key FROM {Address._meta.db_table} "  # noqa: S608 - our table's name
            "WHERE region = %s AND search @@ to_tsquery('simple', %s) LIMIT 40",
            [region, " & ".join(terms)],
        )
        rows = cursor.fetchall()
    out = set()
    for kind, street, name in rows:
        if kind == Address.Kind.PLACE and name:
            out.add(name)
        elif street:
            out.add(street)
            if kind == Address.Kind.STREET and name:
                out.add(name)
    return out


_FIELDS = (
    "kind",
    "housenumber",
    "street",
    "postcode",
    "city",
    "name",
    "lat",
    "lng",
    "street_key",
    "name_key",
    "number_key",
    "city_key",
)


def address_search(region: str, query: str, *, limit: int = 5) -> list[Candidate]:
    """The region's addresses and places that match `query`, best first (at most `limit`);
    empty when nothing is near. See the module's docstring for what confidence means."""
    limit = max(1, min(int(limit), MAX_LIMIT))
    query = (query or "").replace("\x00", " ")
    index = _index(region)
    if index is None or not query.strip():
        return []
    parsed = _parse(query, index)
    if not parsed.words:
        return []
    names = _names(parsed, index, region)
    if not names:
        return []
    streets: dict[str, tuple[float, set[int]]] = {}
    for name, scored in names.items():
        for street in ({name} if name in index.streets else set()) | index.aliases.get(name, set()):
            if street not in streets or streets[street][0] < scored[0]:
                streets[street] = scored
    places = {n: s for n, s in names.items() if n in index.places}
    rows = list(
        Address.objects.filter(region=region)
        .filter(_rows_of(streets, places))
        .values(*_FIELDS)[:ROWS_READ]
    )
    candidates = _score(parsed, streets, places, rows)
    return _rank(candidates)[:limit]


def _rows_of(streets: dict, places: dict) -> Q:
    where = Q(pk__in=[])
    if streets:
        where |= Q(street_key__in=list(streets))
    if places:
        where |= Q(kind=Address.Kind.PLACE, name_key__in=list(places))
    return where


def _agreement(parsed: _Query, row: dict, explained: set[int]) -> float:
    """What the candidate keeps for its postcode and city against the query's, and for the
    query's words that nothing explains."""
    factor = TOWN_ONLY if parsed.town_only else 1.0
    if parsed.postcode and row["postcode"] and fold(row["postcode"]) != parsed.postcode:
        factor *= PART_DISAGREES
    if parsed.city and row["city_key"] and row["city_key"] != parsed.city:
        factor *= PART_DISAGREES
    loose = [w for i, w in enumerate(parsed.words) if i not in explained]
    if parsed.city == "" and row["city_key"]:  # a misspelt city is still the city
        loose = [w for w in loose if fuzz.ratio(w, row["city_key"]) < 85]
    return factor - min(UNEXPLAINED_MAX, UNEXPLAINED_WORD * len(loose))


def _candidate(row: dict, confidence: float, match: str, *, note: str = "", label: str = ""):
    is_place = row["kind"] == Address.Kind.PLACE
    return Candidate(
        lat=row["lat"],
        lon=row["lng"],
        confidence=round(max(0.0, min(1.0, confidence)), 3),
        label=label
        or address_label(
            name=row["name"] if is_place else "",
            street=row["street"],
            housenumber=row["housenumber"],
            postcode=row["postcode"],
            city=row["city"],
        ),
        kind=row["kind"],
        match=match,
        housenumber=row["housenumber"],
        street=row["street"],
        postcode=row["postcode"],
        city=row["city"],
        name=row["name"] if is_place else "",
        note=note,
    )


def _score(parsed: _Query, streets: dict, places: dict, rows: list[dict]) -> list[Candidate]:
    out: list[Candidate] = []
    on_street: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for row in rows:
        if row["street_key"] in streets:
            on_street[(row["street_key"], row["city_key"])].append(row)
        if row["kind"] == Address.Kind.PLACE and row["name_key"] in places:
            score, explained = places[row["name_key"]]
            factor = PLACE
            if parsed.number:  # a number beside a place's name: its own, or unexplained
                factor *= 1.0 if row["number_key"] == parsed.number else PART_DISAGREES
            confidence = _sure(score) * factor * _agreement(parsed, row, explained)
            out.append(_candidate(row, confidence, "place"))
    for (street_key, _), group in on_street.items():
        score, explained = streets[street_key]
        name_s = _sure(score)
        kind = "exact" if score >= 100 else "fuzzy"
        numbered = [r for r in group if r["number_key"]]
        matched = False
        if parsed.number:
            want = number_base(parsed.number)
            for row in numbered:
                if row["number_key"] == parsed.number:
                    factor, match = EXACT_NUMBER, kind
                elif number_base(row["number_key"]) == want:
                    staircase = parsed.letter_given and row["number_key"].isdigit()
                    factor, match = (STAIRCASE if staircase else LETTER_DIFFERS), "fuzzy"
                elif row["number_key"].startswith(parsed.number):
                    confidence = name_s * NUMBER_COMPLETES * _agreement(parsed, row, explained)
                    out.append(_candidate(_as_address(row), confidence, "prefix"))
                    continue
                else:
                    continue
                matched = True
                confidence = name_s * factor * _agreement(parsed, row, explained)
                out.append(_candidate(_as_address(row), confidence, match))
        if not matched:
            out.append(_street_only(parsed, group, numbered, name_s, explained))
    return out


def _as_address(row: dict) -> dict:
    """A place found by its street and number answers as the address it is."""
    return {**row, "kind": Address.Kind.ADDRESS, "name": ""} if row["street"] else row


def _street_only(
    parsed: _Query, group: list[dict], numbered: list[dict], name_s: float, explained: set[int]
) -> Candidate:
    """The street itself: at the known number nearest the one asked, else its middle."""
    asked = parsed.number.upper()
    if parsed.number and numbered:
        want = number_base(parsed.number) or 0
        row = min(
            numbered, key=lambda r: (abs((number_base(r["number_key"]) or 0) - want), r["lat"])
        )
        what = f"no number {asked}; nearest {row['housenumber']}"
        note = f"No number {asked} on {row['street']}; the nearest known is {row['housenumber']}."
    else:
        streets = [r for r in group if r["kind"] == Address.Kind.STREET]
        ordered = sorted(numbered or group, key=lambda r: number_base(r["number_key"]) or 0)
        row = streets[0] if streets else ordered[len(ordered) // 2]
        what = f"no number {asked}" if parsed.number else "no house number"
        note = (
            f"No number {asked} on {row['street']}."
            if parsed.number
            else "No house number given: the street only."
        )
    confidence = name_s * (NUMBER_NOT_FOUND if parsed.number else NO_NUMBER)
    town = " ".join(p for p in (row["postcode"], row["city"]) if p)
    label = ", ".join(p for p in (f"{row['street']} ({what})", town) if p)
    base = {**row, "kind": Address.Kind.STREET, "housenumber": "", "name": ""}
    return _candidate(
        base, confidence * _agreement(parsed, row, explained), "street", note=note, label=label
    )


def _same_key(c: Candidate) -> tuple[str, ...]:
    if c.kind == Address.Kind.PLACE:
        return ("p", fold(c.name), fold(c.street), number_key(c.housenumber))
    return (c.kind, fold(c.street), number_key(c.housenumber), fold(c.city))


def _rank(candidates: list[Candidate]) -> list[Candidate]:
    """Best first, each address once (it is often a node and a building too: the one with
    more parts is kept). Two equally good candidates far apart (one street in two towns)
    are both less sure."""
    kept: dict[tuple[str, ...], list[Candidate]] = defaultdict(list)
    order = sorted(candidates, key=lambda c: (-c.confidence, not c.postcode, not c.city))
    for c in order:
        twins = kept[_same_key(c)]
        if not any(haversine_m((o.lat, o.lon), (c.lat, c.lon)) < SAME_PLACE_M for o in twins):
            twins.append(c)
    ranked = sorted((c for cs in kept.values() for c in cs), key=lambda c: (-c.confidence, c.label))
    if len(ranked) >= 2:
        first, second = ranked[0], ranked[1]
        apart = haversine_m((first.lat, first.lon), (second.lat, second.lon))
        if first.confidence - second.confidence < 0.03 and apart > AMBIGUOUS_APART_M:
            ranked[0], ranked[1] = (
                replace(
                    one,
                    confidence=round(one.confidence * AMBIGUOUS, 3),
                    note=f"Also matches {other.label}, {apart / 1000:.1f} km away.",
                )
                for one, other in ((first, second), (second, first))
            )
    return [c for c in ranked if c.confidence >= SHOWN_FROM]
