"""Realistic synthetic data for demos, tests and benchmarks; deterministic for a given seed."""
