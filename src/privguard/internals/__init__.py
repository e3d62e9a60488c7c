"""Private internals. Nothing here is public API; import from :mod:`privguard`."""
