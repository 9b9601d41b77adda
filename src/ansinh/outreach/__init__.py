"""Outreach to the people not covered: who has no health insurance on a day and what each could join
(:mod:`.service`), the matching of the tax authority's lists with the agency's records (:mod:`.tax`), the renewals
due next month with reminders to the citizens (:mod:`.renewals`), the collection agents and their commission
(:mod:`.agents`), and the sponsors who pay the health insurance of people they name (:mod:`.sponsors`)."""
