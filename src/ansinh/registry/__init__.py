"""registry domain (see DESIGN.md)."""
