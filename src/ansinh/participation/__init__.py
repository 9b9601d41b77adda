"""participation domain (see DESIGN.md)."""
