"""The corrections' tests use the portal's world (tests/portal/conftest.py): An and Bình, citizens of Hà Nội, and
the officers of Hà Nội and Sơn La."""

from tests.portal.conftest import pworld  # noqa: F401 - the fixture
