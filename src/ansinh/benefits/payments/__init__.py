"""Benefit payments: one-off payments, pensions and other monthly benefits in payment, the monthly payroll, payment
files to banks and their results, paying points, the ledger of benefit expenses, and overpayments."""
