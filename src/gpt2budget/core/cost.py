"""Energy, money and carbon of a run: pure functions on plain numbers."""

from __future__ import annotations

from typing import NamedTuple

# Defaults, documented in the README and overridable on the command line (stated once, with their sources, in
# gpt2budget.options).
from gpt2budget.options import AVERAGE_DRAW, GRID_GCO2_PER_KWH, PRICE_PER_KWH, PUE

__all__ = ["AVERAGE_DRAW", "GRID_GCO2_PER_KWH", "PRICE_PER_KWH", "PUE", "CostInputs", "cost"]


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
