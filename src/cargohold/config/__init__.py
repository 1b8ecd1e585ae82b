"""The config.yml model, its loader and REGISTRY_* environment overrides."""
