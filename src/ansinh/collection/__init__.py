"""collection domain (see DESIGN.md)."""
