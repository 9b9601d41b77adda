"""Notices from the agency to a citizen or an employer (the VssID inbox)."""
