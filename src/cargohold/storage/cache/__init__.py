"""Blob descriptor caches: the provider interface and its in-memory and Redis implementations."""
