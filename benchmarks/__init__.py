"""Benchmarks: `make benchmark`, `make benchmark-console`, `make benchmark-delivery` (figures in
docs/benchmarks.md)."""
