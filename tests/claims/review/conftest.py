"""Fixtures of the review tests: the appraisal tests' four claims of 01001 (Hà Nội) and its officer."""

from tests.cards.conftest import contracted_facility, world  # noqa: F401 - fixtures reused here
from tests.claims.appraisal.test_service import claims, officer  # noqa: F401 - fixtures reused here
from tests.claims.intake.conftest import intake_world  # noqa: F401,E402 - fixtures reused here
from tests.claims.intake.test_cli import env  # noqa: F401,E402 - fixture reused here
