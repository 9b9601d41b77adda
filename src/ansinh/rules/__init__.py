"""rules domain (see DESIGN.md)."""
