"""wharf_common."""
