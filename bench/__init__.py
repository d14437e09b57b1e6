"""Benchmarks: `python -m bench` (or `make bench`) prints numbers and ratios; nothing here is a test."""
