"""Cost monitoring of medical facilities per month against their peers, and the use of the yearly budgets."""
