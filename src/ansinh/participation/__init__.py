"""Participation: who is covered by which scheme, when, on what salary, paid by whom."""
