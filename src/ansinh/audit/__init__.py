"""The audit log: every write and every read of a person's record, append-only."""
