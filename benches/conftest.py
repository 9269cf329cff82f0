"""Benchmarks are opt-in: `make bench` runs them with pytest-benchmark enabled."""
