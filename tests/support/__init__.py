"""Test harness shared by the integration tests and the benchmarks: the product's processes side by
side, scratch databases and free ports."""
