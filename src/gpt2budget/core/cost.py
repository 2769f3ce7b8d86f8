"""Energy, money and carbon of a run: pure functions on plain numbers."""

from __future__ import annotations

from typing import NamedTuple

# Defaults, documented in the README and overridable on the command line.
AVERAGE_DRAW = 0.8  # assumption: training holds a GPU near, not at, its board power on average
PUE = 1.1  # power usage effectiveness; hyperscale data centres report ~1.1, a home PC is 1.0
PRICE_PER_KWH = 0.17  # USD; US average residential price 2024 (EIA Electric Power Monthly), ~16-17 cents
GRID_GCO2_PER_KWH = 480.0  # world-average grid carbon intensity 2023 (Ember, Global Electricity Review 2024)


class CostInputs(NamedTuple):
    """Prices and power assumptions for the cost of a run (defaults sourced above)."""

    average_draw: float = AVERAGE_DRAW
    pue: float = PUE
    price_per_kwh: float = PRICE_PER_KWH
    grid_gco2_per_kwh: float = GRID_GCO2_PER_KWH
    rent_usd_per_hour: float | None = None  # per GPU-hour; overrides the GPU spec's on-demand price


def cost(gpus: int, wall_hours: float, board_power_w: float | None, rent_spec: float | None,
         launch_price: float | None, ci: CostInputs) -> dict[str, float | None]:
    gpu_hours = gpus * wall_hours
    # energy = board power x GPU-hours x average draw x PUE
    kwh = None if board_power_w is None else board_power_w * gpu_hours * ci.average_draw * ci.pue / 1000
    rent = ci.rent_usd_per_hour if ci.rent_usd_per_hour is not None else rent_spec
    return {
        "gpu_hours": gpu_hours,
        "energy_kwh": kwh,
        "electricity_usd": None if kwh is None else kwh * ci.price_per_kwh,
        "emissions_kg_co2": None if kwh is None else kwh * ci.grid_gco2_per_kwh / 1000,
        "rent_usd_per_gpu_hour": rent,
        "rent_usd": None if rent is None else rent * gpu_hours,
        "purchase_usd": None if launch_price is None else launch_price * gpus,
    }
