"""Prometheus collectors, all defined in one module."""
