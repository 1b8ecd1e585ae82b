"""Storage: layout, blob stores, manifests, tags, uploads and their composition."""
