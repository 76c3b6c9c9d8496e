"""wharf registry: the v1 registry API over a storage driver."""
