"""Benchmark scripts. Run each from the repository root as a module, for example
``.venv/bin/python -m benchmarks.speed``; what they share is in ``benchmarks.harness``."""
