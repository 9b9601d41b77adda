"""Health insurance cards and their lookup at medical facilities."""
