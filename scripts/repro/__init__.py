"""The reproduction kit behind scripts/reproduce.py: grids, run folders, aggregation (docs/REPRODUCE.md)."""
