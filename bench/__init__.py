"""Benchmarks: speed and memory targets, measured against a named baseline in the same run."""
