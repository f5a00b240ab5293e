"""Depots, vehicles and drivers: create, change, deactivate (never delete what plans use).

The only writers of the fleet tables. The API, the dashboard and the demo seeding call
these with typed values (times as `datetime.time`, relations as model instances); every
rule is checked here and refused as a ValidationError of field errors, all at once.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

import phonenumbers
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import CharField, Model
from django.utils.translation import gettext, gettext_noop

from accounts.models import User
from accounts.services import user_create
from dispatch.models import Depot, Driver, Vehicle
from dispatch.selectors.fleet import vehicles_using_depot
from dispatch.services.geocoding import Geocoder, geocode_address
from dispatch.services.phones import phone_e164
from tenants.selectors import current_tenant

Errors = dict[str, list[str]]

MAX_SKILLS = 30
SKILL_LENGTH = Vehicle._meta.get_field("skills").base_field.max_length
#: A phone number as typed (spaces and all) before it becomes E.164.
PHONE_INPUT_LENGTH = 40
#: The longest break; it must also end before the shift does.
MAX_BREAK_DURATION_S = 24 * 3600
MAX_STOPS = 10_000
MIN_ROUTE_DURATION_S = 60
MAX_ROUTE_DURATION_S = 48 * 3600

ADDRESS_FIELDS = ("address_line1", "address_line2", "city", "postcode", "region", "country")
DEPOT_FIELDS = frozenset(
    {*ADDRESS_FIELDS, "name", "lat", "lng", "opens_at", "closes_at", "is_active"}
)
VEHICLE_FIELDS = frozenset(
    {
        "name",
        "capacity_weight_kg",
        "capacity_volume_l",
        "capacity_items",
        "skills",
        "start_depot",
        "end_depot",
        "cost_per_km",
        "cost_per_hour",
        "fixed_cost",
        "max_stops",
        "max_route_duration_s",
        "is_active",
        "energy",
        "consumption_per_100km",
    }
)
DRIVER_FIELDS = frozenset(
    {
        "name",
        "phone",
        "user",
        "default_vehicle",
        "shift_start",
        "shift_end",
        "break_start",
        "break_duration_s",
        "skills",
        "is_active",
    }
)
DECIMAL_FIELDS = (
    "capacity_weight_kg",
    "capacity_volume_l",
    "cost_per_km",
    "cost_per_hour",
    "fixed_cost",
    "consumption_per_100km",
)


def _default(model: type[Model], name: str) -> Any:
    return model._meta.get_field(name).get_default()


# --- shared checks ----------------------------------------------------------------------


def _apply(instance: Model, data: Mapping[str, Any], allowed: frozenset[str]) -> Errors:
    """Set the known fields of `data` on `instance`; name the unknown ones."""
    if not isinstance(data, Mapping):
        return {"non_field_errors": [gettext("Send the fields as a mapping of names to values.")]}
    errors: Errors = {name: [gettext("Unknown field.")] for name in sorted(set(data) - allowed)}
    for name in allowed & set(data):
        value = data[name]
        field = instance._meta.get_field(name)
        if isinstance(value, str):
            value = value.strip()
        elif value is None and isinstance(field, CharField) and not field.null:
            value = ""  # "no phone", "no address line 2"
        elif name in DECIMAL_FIELDS and isinstance(value, float) and math.isfinite(value):
            value = Decimal(str(value))  # 0.1 is 0.1, not 0.1000000000000000055511
        setattr(instance, name, value)
    return errors


def _clean_fields(instance: Model, errors: Errors) -> None:
    """The model's field rules (types, lengths, ranges); values are converted in place."""
    try:
        instance.clean_fields(exclude=set(errors))
    except ValidationError as exc:
        for name, messages in exc.message_dict.items():
            errors.setdefault(name, []).extend(messages)


def _skills(instance: Model, errors: Errors) -> None:
    """Skills as a sorted list of unique lower-case names ("Fridge, fridge " → ["fridge"])."""
    value = instance.skills
    if value is None or value == "":
        value = []
    if isinstance(value, str) or not isinstance(value, Iterable):
        errors["skills"] = [gettext("Send a list of skill names.")]
        return
    value = list(value)
    if not all(isinstance(skill, str) for skill in value):
        errors["skills"] = [gettext("Send a list of skill names.")]
        return
    skills = sorted({skill.strip().lower() for skill in value if skill.strip()})
    if len(skills) > MAX_SKILLS:
        errors["skills"] = [gettext("At most %(most)d skills.") % {"most": MAX_SKILLS}]
    elif any(len(skill) > SKILL_LENGTH for skill in skills):
        errors["skills"] = [
            gettext("Skill names have at most %(most)d characters.") % {"most": SKILL_LENGTH}
        ]
    instance.skills = skills


ALREADY_CALLED = {
    "depot": gettext_noop("There is already a depot called “%(name)s”."),
    "vehicle": gettext_noop("There is already a vehicle called “%(name)s”."),
    "driver": gettext_noop("There is already a driver called “%(name)s”."),
}


def _unique_name(instance: Model, noun: str, errors: Errors) -> None:
    """Names are unique whatever their case ("Van 1" and "van 1" would confuse people)."""
    if "name" in errors or not instance.name:
        return
    other = (
        type(instance)
        .objects.filter(name__iexact=instance.name)
        .exclude(pk=instance.pk)
        .values_list("name", flat=True)
        .first()
    )
    if other is not None:
        errors["name"] = [gettext(ALREADY_CALLED[noun]) % {"name": other}]


def _naive_time(instance: Model, name: str, errors: Errors) -> None:
    value = getattr(instance, name)
    if name not in errors and isinstance(value, dt.time) and value.tzinfo is not None:
        errors[name] = [gettext("Give a local time (in your time zone), without a UTC offset.")]


def _not_negative(instance: Model, names: Iterable[str], errors: Errors) -> None:
    for name in names:
        value = getattr(instance, name)
        if name not in errors and value is not None and value < 0:
            errors[name] = [gettext("Enter 0 or more.")]


def _optional_between(instance: Model, name: str, low: int, high: int, errors: Errors) -> None:
    value = getattr(instance, name)
    if name not in errors and value is not None and not low <= value <= high:
        errors[name] = [
            gettext("Between %(low)s and %(high)s, or empty for no limit.")
            % {"low": low, "high": high}
        ]


def _finish(instance: Model, errors: Errors, *, uniques: Mapping[str, str]) -> None:
    """Raise the collected errors, else check the database rules and save.

    `uniques` maps unique fields to the error shown when a concurrent request took the
    value between our check and the insert (the database has the last word).
    """
    if not errors:
        try:
            instance.validate_constraints()
        except ValidationError as exc:
            errors.update(exc.message_dict)
    if errors:
        if "__all__" in errors:
            errors["non_field_errors"] = errors.pop("__all__")
        raise ValidationError(errors)
    try:
        with transaction.atomic():
            instance.save()
    except IntegrityError as exc:
        field = next((name for name in uniques if name in str(exc)), "non_field_errors")
        message = gettext(
            uniques.get(field, gettext_noop("Changed by someone else meanwhile; please try again."))
        )
        raise ValidationError({field: [message]}) from exc


def _locked(model: type[Model], instance: Model) -> Model:
    """A fresh copy of `instance`, locked until the transaction ends (no lost updates)."""
    return model.objects.select_for_update().get(pk=instance.pk)


# --- depots -----------------------------------------------------------------------------


def _depot_locate(depot: Depot, errors: Errors, geocoder: Geocoder | None) -> None:
    query = ", ".join(
        part
        for part in (
            depot.address_line1,
            depot.address_line2,
            depot.postcode,
            depot.city,
            depot.region,
        )
        if part
    )
    if not query:
        errors["lat"] = [
            gettext("Give the depot's coordinates (lat and lng), or an address to locate.")
        ]
        return
    found = geocode_address(query=query, country=depot.country, geocoder=geocoder)
    if found.lat is None or found.lng is None:
        # The provider's reason, without advice meant for orders ("…; add lat/lng to the order").
        reason = found.error.split(";")[0].rstrip(".") or "no result"
        errors["address_line1"] = [
            gettext(
                "This address could not be located (%(reason)s). "
                "Check it, or give the depot's lat and lng."
            )
            % {"reason": reason}
        ]
        return
    depot.lat, depot.lng = found.lat, found.lng


def _depot_check_and_save(
    depot: Depot,
    errors: Errors,
    *,
    address_before: Mapping[str, Any] | None,
    coordinates_sent: bool,
    geocoder: Geocoder | None,
) -> Depot:
    """Check and save. Locates the address when the depot has no coordinates, or when its
    address changed (from `address_before`) and no coordinates came with the change."""
    if isinstance(depot.country, str):
        depot.country = (depot.country or current_tenant().country).upper()
    _clean_fields(depot, errors)
    if "country" not in errors and depot.country not in phonenumbers.SUPPORTED_REGIONS:
        errors["country"] = [f"'{depot.country}' is not an ISO 3166-1 alpha-2 country code."]
    for name in ("lat", "lng"):
        value = getattr(depot, name)
        if name not in errors and value is not None and not math.isfinite(value):
            errors[name] = [gettext("Enter a number in degrees.")]
    moved = address_before is not None and any(
        getattr(depot, name) != value for name, value in address_before.items()
    )
    address_ok = not {"lat", "lng", *ADDRESS_FIELDS} & set(errors)
    if address_ok and (depot.lat is None) != (depot.lng is None):
        errors["lat" if depot.lat is None else "lng"] = [
            gettext("Send both lat and lng, or neither.")
        ]
    elif address_ok and (depot.lat is None or (moved and not coordinates_sent)):
        _depot_locate(depot, errors, geocoder)
    _naive_time(depot, "opens_at", errors)
    _naive_time(depot, "closes_at", errors)
    if not {"opens_at", "closes_at"} & set(errors) and depot.opens_at >= depot.closes_at:
        errors["closes_at"] = [gettext("The depot must open before it closes.")]
    if depot.pk is not None and depot.is_active is False and "is_active" not in errors:
        in_use = list(vehicles_using_depot(depot=depot).values_list("name", flat=True))
        if in_use:
            errors["is_active"] = [
                gettext(
                    "Active vehicles start or end here: %(names)s. Move or deactivate them first."
                )
                % {"names": ", ".join(in_use)}
            ]
    _unique_name(depot, "depot", errors)
    _finish(
        depot, errors, uniques={"name": gettext_noop("There is already a depot with this name.")}
    )
    return depot


@transaction.atomic
def depot_create(
    *,
    name: str,
    address_line1: str = "",
    address_line2: str = "",
    city: str = "",
    postcode: str = "",
    region: str = "",
    country: str = "",
    lat: float | None = None,
    lng: float | None = None,
    opens_at: dt.time | None = None,
    closes_at: dt.time | None = None,
    is_active: bool = True,
    geocoder: Geocoder | None = None,
) -> Depot:
    """Add a depot. Without coordinates its address is located now (the geocoder is asked
    synchronously); if that fails nothing is saved and the error says why. An empty
    country is the tenant's; empty hours are the usual 07:00-20:00."""
    depot = Depot()
    errors = _apply(
        depot,
        {
            "name": name,
            "address_line1": address_line1,
            "address_line2": address_line2,
            "city": city,
            "postcode": postcode,
            "region": region,
            "country": country,
            "lat": lat,
            "lng": lng,
            "is_active": is_active,
            "opens_at": _default(Depot, "opens_at") if opens_at is None else opens_at,
            "closes_at": _default(Depot, "closes_at") if closes_at is None else closes_at,
        },
        DEPOT_FIELDS,
    )
    return _depot_check_and_save(
        depot, errors, address_before=None, coordinates_sent=True, geocoder=geocoder
    )


@transaction.atomic
def depot_update(
    *, depot: Depot, data: Mapping[str, Any], geocoder: Geocoder | None = None
) -> Depot:
    """Change a depot's fields named in `data`. A changed address sent without coordinates
    is located again; coordinates sent (even unchanged) are kept as given."""
    depot = _locked(Depot, depot)
    address_before = {name: getattr(depot, name) for name in ADDRESS_FIELDS}
    errors = _apply(depot, data, DEPOT_FIELDS)
    coordinates_sent = isinstance(data, Mapping) and bool({"lat", "lng"} & set(data))
    return _depot_check_and_save(
        depot,
        errors,
        address_before=address_before,
        coordinates_sent=coordinates_sent,
        geocoder=geocoder,
    )


def depot_deactivate(*, depot: Depot) -> Depot:
    """Take a depot out of use (kept: routes and history point at it). Refused while
    active vehicles start or end there."""
    return depot_update(depot=depot, data={"is_active": False})


# --- vehicles ---------------------------------------------------------------------------


def _vehicle_check_and_save(vehicle: Vehicle, errors: Errors) -> Vehicle:
    if vehicle.start_depot_id is None and "start_depot" not in errors:
        errors["start_depot"] = [gettext("Choose the depot the vehicle starts from.")]
    _skills(vehicle, errors)
    _clean_fields(vehicle, errors)
    _not_negative(vehicle, DECIMAL_FIELDS, errors)
    _optional_between(vehicle, "max_stops", 1, MAX_STOPS, errors)
    _optional_between(
        vehicle, "max_route_duration_s", MIN_ROUTE_DURATION_S, MAX_ROUTE_DURATION_S, errors
    )
    if vehicle.is_active is True:
        # Locks the depots: a depot cannot be deactivated while this vehicle is saved.
        ids = {vehicle.start_depot_id, vehicle.end_depot_id} - {None}
        active = dict(
            Depot.objects.select_for_update().filter(pk__in=ids).values_list("pk", "is_active")
        )
        for name in ("start_depot", "end_depot"):
            depot_id = getattr(vehicle, f"{name}_id")
            if name not in errors and depot_id is not None and not active.get(depot_id, False):
                errors[name] = [f"{getattr(vehicle, name)} is deactivated; choose an active depot."]
    _unique_name(vehicle, "vehicle", errors)
    _finish(
        vehicle,
        errors,
        uniques={"name": gettext_noop("There is already a vehicle with this name.")},
    )
    return vehicle


@transaction.atomic
def vehicle_create(
    *,
    name: str,
    start_depot: Depot | None,
    end_depot: Depot | None = None,
    capacity_weight_kg: Decimal | None = None,
    capacity_volume_l: Decimal | None = None,
    capacity_items: int | None = None,
    skills: Iterable[str] = (),
    cost_per_km: Decimal = Decimal(0),
    cost_per_hour: Decimal = Decimal(0),
    fixed_cost: Decimal = Decimal(0),
    max_stops: int | None = None,
    max_route_duration_s: int | None = None,
    is_active: bool = True,
    energy: str = Vehicle.Energy.DIESEL,
    consumption_per_100km: Decimal | None = None,
) -> Vehicle:
    """Add a vehicle. An empty capacity means "no limit" in that dimension; it starts (and
    without `end_depot` ends) its routes at an active depot. `consumption_per_100km`:
    litres (kWh for electric), empty for a typical van of its `energy` (reports)."""
    vehicle = Vehicle()
    errors = _apply(
        vehicle,
        {
            "name": name,
            "start_depot": start_depot,
            "end_depot": end_depot,
            "capacity_weight_kg": capacity_weight_kg,
            "capacity_volume_l": capacity_volume_l,
            "capacity_items": capacity_items,
            "skills": skills,
            "cost_per_km": cost_per_km,
            "cost_per_hour": cost_per_hour,
            "fixed_cost": fixed_cost,
            "max_stops": max_stops,
            "max_route_duration_s": max_route_duration_s,
            "is_active": is_active,
            "energy": energy,
            "consumption_per_100km": consumption_per_100km,
        },
        VEHICLE_FIELDS,
    )
    return _vehicle_check_and_save(vehicle, errors)


@transaction.atomic
def vehicle_update(*, vehicle: Vehicle, data: Mapping[str, Any]) -> Vehicle:
    """Change a vehicle's fields named in `data` (same rules as vehicle_create)."""
    vehicle = _locked(Vehicle, vehicle)
    errors = _apply(vehicle, data, VEHICLE_FIELDS)
    return _vehicle_check_and_save(vehicle, errors)


def vehicle_deactivate(*, vehicle: Vehicle) -> Vehicle:
    """Take a vehicle out of planning (kept for history; drivers keep it as their usual
    vehicle until changed)."""
    return vehicle_update(vehicle=vehicle, data={"is_active": False})


# --- drivers ----------------------------------------------------------------------------


def _seconds(value: dt.time) -> int:
    return value.hour * 3600 + value.minute * 60 + value.second


def _driver_check_and_save(
    driver: Driver,
    errors: Errors,
    *,
    user_before: int | None,
    vehicle_before: int | None,
    phone_sent: bool,
) -> Driver:
    """Check and save. Links (login, usual vehicle) are checked when they change: a driver
    whose vehicle was deactivated later can still be edited."""
    if phone_sent and "phone" not in errors:
        try:
            driver.phone = phone_e164(driver.phone, region=current_tenant().country)
        except ValidationError as exc:
            errors["phone"] = exc.messages
    _skills(driver, errors)
    _clean_fields(driver, errors)
    if driver.user_id not in (None, user_before) and "user" not in errors:
        user = User.objects.select_for_update().get(pk=driver.user_id)
        if user.role != User.Role.DRIVER:
            errors["user"] = [f"{user.email} is a {user.get_role_display().lower()}, not a driver."]
        elif not user.is_active:
            errors["user"] = [f"{user.email} is deactivated."]
        elif Driver.objects.filter(user_id=user.pk).exclude(pk=driver.pk).exists():
            errors["user"] = [f"{user.email} already signs in as another driver."]
    vehicle_id = driver.default_vehicle_id
    if (
        "default_vehicle" not in errors
        and vehicle_id not in (None, vehicle_before)
        and not Vehicle.objects.filter(pk=vehicle_id, is_active=True).exists()
    ):
        errors["default_vehicle"] = [f"{driver.default_vehicle} is deactivated."]
    for name in ("shift_start", "shift_end", "break_start"):
        _naive_time(driver, name, errors)
    shift_known = not {"shift_start", "shift_end"} & set(errors)
    if shift_known and driver.shift_start >= driver.shift_end:
        errors["shift_end"] = [gettext("The shift must start before it ends.")]
        shift_known = False
    if not {"break_start", "break_duration_s"} & set(errors):
        if driver.break_start is None:
            if driver.break_duration_s:
                errors["break_start"] = [
                    gettext("Say when the break can start, or set its length to 0 for no break.")
                ]
        elif not driver.break_duration_s:
            errors["break_duration_s"] = [gettext("Say how long the break is.")]
        elif shift_known:
            start, end = _seconds(driver.shift_start), _seconds(driver.shift_end)
            if not start <= _seconds(driver.break_start) < end:
                errors["break_start"] = [gettext("The break must start during the shift.")]
            elif _seconds(driver.break_start) + driver.break_duration_s > end:
                errors["break_duration_s"] = [gettext("The break must end before the shift does.")]
    _finish(
        driver,
        errors,
        uniques={"user": gettext_noop("This login already signs in as another driver.")},
    )
    return driver


SIGN_IN_OWNER_ONLY = gettext_noop(
    "Only an owner gives a driver a sign-in, on the Drivers page (or on Team)."
)


def may_give_sign_in(acting_user: object) -> bool:
    """Whether `acting_user` (request.user: a user, an API key's stand-in, anonymous; or
    None) may give a driver a new sign-in. Whoever chooses its password
    can sign in as that driver, so this is team management: an owner's, like the Team
    page. Not a dispatcher's, and not an API key's (it belongs to the tenant, not to an
    owner; its request.user is no User)."""
    return (
        isinstance(acting_user, User)
        and acting_user.is_active
        and acting_user.role == User.Role.OWNER
    )


def _driver_sign_in(
    *,
    name: str,
    user: User | None,
    email: str,
    password: str,
    acting_user: object,
    current: User | None = None,
) -> tuple[User | None, Errors]:
    """The driver's new sign-in (a user with the driver role, made by accounts' service),
    or the errors, named login_email and login_password. Made in the caller's transaction:
    if the driver is then refused, the user is undone with it. No email and no password:
    no new sign-in. Only an owner may make one (may_give_sign_in)."""
    email, password = (email or "").strip(), password or ""
    if not email and not password:
        return None, {}
    if not may_give_sign_in(acting_user):
        return None, {"login_email" if email else "login_password": [gettext(SIGN_IN_OWNER_ONLY)]}
    if current is not None:
        return None, {
            "login_email": [
                gettext("%(name)s already has a sign-in (%(email)s).")
                % {"name": name, "email": current.email}
            ]
        }
    if user is not None:
        return None, {
            "login_email": [gettext("Choose an existing sign-in or make a new one, not both.")]
        }
    if not password:
        return None, {
            "login_password": [gettext("Set a password for the sign-in, or leave the email empty.")]
        }
    if not email:
        return None, {
            "login_email": [
                gettext("Give the email the driver signs in with, or leave the password empty.")
            ]
        }
    try:
        with transaction.atomic():
            new_user = user_create(
                email=email, password=password, role=User.Role.DRIVER, name=str(name or "")
            )
    except ValidationError as exc:
        return None, {f"login_{field}": messages for field, messages in exc.message_dict.items()}
    except IntegrityError:  # the same email, added by someone else meanwhile
        return None, {"login_email": [gettext("A user with this email already exists.")]}
    return new_user, {}


@transaction.atomic
def driver_create(
    *,
    name: str,
    phone: str = "",
    user: User | None = None,
    default_vehicle: Vehicle | None = None,
    shift_start: dt.time | None = None,
    shift_end: dt.time | None = None,
    break_start: dt.time | None = None,
    break_duration_s: int = 0,
    skills: Iterable[str] = (),
    is_active: bool = True,
    login_email: str = "",
    login_password: str = "",
    acting_user: object = None,
) -> Driver:
    """Add a driver. The phone is stored in E.164 (national numbers read in the tenant's
    country); `user` is the driver's login (role driver, one driver per login), or
    `login_email` and `login_password` make them a new one, if `acting_user` (who asks,
    see may_give_sign_in) is an owner. Either both are saved or neither is;
    every problem of the two is reported at once."""
    driver = Driver()
    new_user, login_errors = _driver_sign_in(
        name=name, user=user, email=login_email, password=login_password, acting_user=acting_user
    )
    data = {
        "name": name,
        "phone": phone,
        "user": new_user or user,
        "default_vehicle": default_vehicle,
        "shift_start": _default(Driver, "shift_start") if shift_start is None else shift_start,
        "shift_end": _default(Driver, "shift_end") if shift_end is None else shift_end,
        "break_start": break_start,
        "break_duration_s": break_duration_s,
        "skills": skills,
        "is_active": is_active,
    }
    errors = _apply(driver, data, DRIVER_FIELDS)
    errors.update(login_errors)
    return _driver_check_and_save(
        driver, errors, user_before=None, vehicle_before=None, phone_sent=True
    )


@transaction.atomic
def driver_update(*, driver: Driver, data: Mapping[str, Any], acting_user: object = None) -> Driver:
    """Change a driver's fields named in `data` (same rules as driver_create, including
    `login_email` and `login_password` for a driver who has no sign-in yet, from an
    owner only)."""
    driver = _locked(Driver, driver)
    user_before, vehicle_before = driver.user_id, driver.default_vehicle_id
    login_errors: Errors = {}
    if isinstance(data, Mapping) and {"login_email", "login_password"} & set(data):
        data = dict(data)
        email, password = data.pop("login_email", ""), data.pop("login_password", "")
        new_user, login_errors = _driver_sign_in(
            name=data.get("name", driver.name),
            user=data.get("user"),
            email=email,
            password=password,
            acting_user=acting_user,
            current=driver.user if "user" not in data and driver.user_id else None,
        )
        if new_user is not None:
            data["user"] = new_user
    errors = _apply(driver, data, DRIVER_FIELDS)
    errors.update(login_errors)
    return _driver_check_and_save(
        driver,
        errors,
        user_before=user_before,
        vehicle_before=vehicle_before,
        phone_sent=isinstance(data, Mapping) and "phone" in data,
    )


def driver_deactivate(*, driver: Driver) -> Driver:
    """Take a driver out of planning (kept for history; the login stays linked)."""
    return driver_update(driver=driver, data={"is_active": False})


# --- dict-shaped entry points -----------------------------------------------------------


def depot_save(*, data: Mapping[str, Any], depot: Depot | None = None) -> Depot:
    """Create (no `depot`) or change a depot from a dict. Kept for the demo seeding
    (dispatch.management.commands.seed_demo); new code calls depot_create / depot_update."""
    return depot_update(depot=depot, data=data) if depot else depot_create(**data)


def vehicle_save(*, data: Mapping[str, Any], vehicle: Vehicle | None = None) -> Vehicle:
    """Create or change a vehicle from a dict (see depot_save)."""
    return vehicle_update(vehicle=vehicle, data=data) if vehicle else vehicle_create(**data)


def driver_save(*, data: Mapping[str, Any], driver: Driver | None = None) -> Driver:
    """Create or change a driver from a dict (see depot_save)."""
    return driver_update(driver=driver, data=data) if driver else driver_create(**data)
