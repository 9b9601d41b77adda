"""Imports the domains' job kinds (each registers itself, see :mod:`ansinh.jobs.registry`)."""

from ansinh.collection import billing_jobs  # noqa: F401 - billing of a month
from ansinh.benefits.payments import payroll_jobs  # noqa: F401 - the benefit payroll of a month
from ansinh.targets import snapshot_jobs  # noqa: F401 - the indicator snapshots of a month
from ansinh.claims.appraisal import jobs as appraisal_jobs  # noqa: F401 - the appraisal of a settlement month
from ansinh.ops import partition_jobs  # noqa: F401 - the monthly partitions (PostgreSQL)
from ansinh.cards import card_jobs  # noqa: F401 - card issuance and renewal
from ansinh.collection import interest_jobs  # noqa: F401 - late interest accrued to a date
from ansinh.targets.reports import export_jobs  # noqa: F401 - the province reports as files
