"""Locality profile computations: deprivation, indicators, inequality, assembly."""
