"""targets domain (see DESIGN.md)."""
