"""Fuel and CO2 of a distance driven: the emission factors and typical consumptions the
reports use, and the arithmetic (no database; the reports' selectors feed it).

Fuel (litres, or kWh for an electric vehicle) = km x the vehicle's consumption per 100 km
/ 100; CO2 (kg CO2e) = fuel x the energy's emission factor. Decimal throughout, so a
report's numbers add up to the last digit shown.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy

from dispatch.models import Vehicle

Energy = Vehicle.Energy

#: kg CO2e per litre burnt: UK Government GHG Conversion Factors for Company Reporting,
#: 2024 edition (Department for Energy Security and Net Zero), table "Fuels", "Liquid
#: fuels", kg CO2e per litre, the pump fuels as sold (average biofuel blend): diesel
#: 2.51, petrol 2.34 (rounded to two decimals; the table gives five). Direct (scope 1)
#: emissions only: well-to-tank is not counted. A hybrid burns petrol.
#: https://www.gov.uk/government/publications/greenhouse-gas-reporting-conversion-factors-2024
FUEL_KG_CO2E_PER_LITRE = {
    Energy.DIESEL: Decimal("2.51"),
    Energy.PETROL: Decimal("2.34"),
    Energy.HYBRID: Decimal("2.34"),
}

#: Litres (kWh for electric) per 100 km of a vehicle whose consumption is not set: our
#: assumptions for a typical small-to-medium delivery van in town, stop-start driving
#: (not a cited figure: set each vehicle's own on the Vehicles page for real numbers).
TYPICAL_PER_100KM = {
    Energy.DIESEL: Decimal("8.5"),
    Energy.PETROL: Decimal("9.5"),
    Energy.HYBRID: Decimal("6.5"),
    Energy.ELECTRIC: Decimal("22"),
    Energy.HUMAN: Decimal("0"),
}

#: The unit of the consumption and of the fuel, by energy.
UNIT = {
    Energy.DIESEL: "l",
    Energy.PETROL: "l",
    Energy.HYBRID: "l",
    Energy.ELECTRIC: "kWh",
    Energy.HUMAN: "",
}

#: The factors as the reports page explains them (with the grid's from the settings).
SOURCE_TEXT = gettext_lazy(
    "Emission factors: UK Government GHG Conversion Factors for Company Reporting 2024 "
    "(DESNZ), fuels as sold: diesel %(diesel)s and petrol %(petrol)s kg CO2e per litre "
    "(a hybrid burns petrol); electricity %(grid)s kg CO2e per kWh. A vehicle without its "
    "own consumption counts as a typical van: diesel %(t_diesel)s l, petrol %(t_petrol)s l, "
    "hybrid %(t_hybrid)s l, electric %(t_electric)s kWh per 100 km."
)


def grid_kg_per_kwh() -> Decimal:
    """kg CO2e per kWh charged: EMISSIONS_GRID_KG_PER_KWH (default: the UK grid's
    generation factor in the same 2024 tables, table "UK electricity", 0.207)."""
    value = Decimal(str(settings.EMISSIONS_GRID_KG_PER_KWH))
    if not value.is_finite() or value < 0:
        raise ImproperlyConfigured("EMISSIONS_GRID_KG_PER_KWH must be 0 or more.")
    return value


def kg_co2e_per_unit(energy: str) -> Decimal:
    """kg CO2e per litre (per kWh for electric; 0 for pedal power)."""
    if energy == Energy.ELECTRIC:
        return grid_kg_per_kwh()
    return FUEL_KG_CO2E_PER_LITRE.get(energy, Decimal(0))


def consumption_of(vehicle: Vehicle) -> tuple[Decimal, bool]:
    """The vehicle's consumption per 100 km and whether it is the typical one (not set)."""
    if vehicle.energy == Energy.HUMAN:
        return Decimal(0), False
    if vehicle.consumption_per_100km is None:
        return TYPICAL_PER_100KM.get(vehicle.energy, TYPICAL_PER_100KM[Energy.DIESEL]), True
    return Decimal(vehicle.consumption_per_100km), False


@dataclass
class Footprint:
    """Metres driven and what they burnt: litres, kWh and kg CO2e (exact decimals)."""

    distance_m: int = 0
    litres: Decimal = Decimal(0)
    kwh: Decimal = Decimal(0)
    co2_kg: Decimal = Decimal(0)

    def __iadd__(self, other: Footprint) -> Footprint:
        self.distance_m += other.distance_m
        self.litres += other.litres
        self.kwh += other.kwh
        self.co2_kg += other.co2_kg
        return self

    def __sub__(self, other: Footprint) -> Footprint:
        return Footprint(
            self.distance_m - other.distance_m,
            self.litres - other.litres,
            self.kwh - other.kwh,
            self.co2_kg - other.co2_kg,
        )

    @property
    def km(self) -> Decimal:
        return Decimal(self.distance_m) / 1000


def footprint(distance_m: int, *, energy: str, per_100km: Decimal) -> Footprint:
    """What `distance_m` metres burn at `per_100km` (litres, or kWh for electric)."""
    fuel = Decimal(distance_m) * per_100km / Decimal(100_000)
    co2 = fuel * kg_co2e_per_unit(energy)
    if energy == Energy.ELECTRIC:
        return Footprint(distance_m, kwh=fuel, co2_kg=co2)
    if energy == Energy.HUMAN:
        return Footprint(distance_m)
    return Footprint(distance_m, litres=fuel, co2_kg=co2)


def vehicle_footprint(vehicle: Vehicle, distance_m: int) -> Footprint:
    """What `vehicle` burns over `distance_m` metres, at its own or a typical consumption."""
    per_100km, _typical = consumption_of(vehicle)
    return footprint(distance_m, energy=vehicle.energy, per_100km=per_100km)


def source_text() -> str:
    """The factors and typical consumptions, in a sentence for the page."""
    return SOURCE_TEXT % {
        "diesel": FUEL_KG_CO2E_PER_LITRE[Energy.DIESEL],
        "petrol": FUEL_KG_CO2E_PER_LITRE[Energy.PETROL],
        "grid": grid_kg_per_kwh(),
        "t_diesel": TYPICAL_PER_100KM[Energy.DIESEL],
        "t_petrol": TYPICAL_PER_100KM[Energy.PETROL],
        "t_hybrid": TYPICAL_PER_100KM[Energy.HYBRID],
        "t_electric": TYPICAL_PER_100KM[Energy.ELECTRIC],
    }
