"""Org units, users, roles, sessions and API tokens; the permission check every route uses."""
