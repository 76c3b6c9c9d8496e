"""wharf hub."""
