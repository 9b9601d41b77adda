"""Monthly settlement of medical claims per facility: what was claimed, disallowed and accepted, the advances paid,
the amount due; posted to the ledger; exported; and the month closed."""
