"""Presentation: results as data (JSON/YAML/CSV), Rich tables, formulas in words, flags, schemas, sweeps."""
