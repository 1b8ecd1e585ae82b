"""Side-by-side benchmarks of cargohold and CNCF Distribution; run with ``python -m benchmarks.run``."""
