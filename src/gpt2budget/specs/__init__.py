"""Spec files: their definitions, validation, loading, cache and catalogue (depends on errors, options, units)."""
