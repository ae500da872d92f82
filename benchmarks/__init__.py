"""Benchmarks of creditbrain (run with ``python -m benchmarks.NAME``)."""
