"""cards domain (see DESIGN.md)."""
