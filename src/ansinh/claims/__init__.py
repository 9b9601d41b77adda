"""claims domain (see DESIGN.md)."""
