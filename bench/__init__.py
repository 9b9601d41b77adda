"""Benchmarks with their targets (``make bench``); figures go to BENCHMARKS.md."""
