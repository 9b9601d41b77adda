"""Corrections of a person's registry data asked for by the citizen: a request the office resolves, never an edit."""
