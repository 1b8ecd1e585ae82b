"""Shared test suites for pluggable interfaces (drivers, caches), importable by backends."""
