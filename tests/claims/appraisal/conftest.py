"""Fixtures of the appraisal tests: the cards' small world (a contracted facility of Hà Nội, people with cards)."""

from tests.cards.conftest import contracted_facility, world  # noqa: F401 - fixtures reused here
