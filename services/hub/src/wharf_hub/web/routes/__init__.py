"""One module per area of the site; each ``router(hub, pages)`` returns its routes."""
