"""Benchmarks that print measured figures (run them as ``python -m medusa_zoo.benchmarks.NAME``)."""
