"""The cargohold command line."""
