"""Registry: places, people, households, employers."""
