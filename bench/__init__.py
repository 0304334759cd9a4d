"""Benchmarks, run by hand (`.venv/bin/python -m bench.<name> --help`); each prints its own figures."""
