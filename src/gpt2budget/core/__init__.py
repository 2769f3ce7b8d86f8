"""The pure numeric core: memory, step time, FLOPs, scaling, cost, the typed results, check, advisor, planner."""
