"""Benchmarks, run as modules (`python -m bench.event_store`); nothing here is imported by dispatch."""
