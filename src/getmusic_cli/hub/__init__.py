"""Model registry, downloads, cache, bundles, import of the original checkpoint."""
