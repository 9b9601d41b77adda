"""Outreach to the people not covered: who has no health insurance on a day and what each could join, and the
matching of the tax authority's lists (enterprises, income tax withheld per worker) with the agency's records."""
