"""Collection: billing, payments, allocation, arrears, late interest, debtor lists, inspections."""
