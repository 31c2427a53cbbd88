"""One file per network family."""
