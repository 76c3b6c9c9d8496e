"""wharf_engine."""
