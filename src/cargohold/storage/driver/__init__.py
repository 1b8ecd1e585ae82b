"""Storage drivers: the async interface and its filesystem, in-memory and S3 implementations."""
