"""wharf_cli."""
