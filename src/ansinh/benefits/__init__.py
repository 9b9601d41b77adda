"""benefits domain (see DESIGN.md)."""
