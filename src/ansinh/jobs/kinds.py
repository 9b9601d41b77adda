"""Imports the domains' job kinds (each registers itself, see :mod:`ansinh.jobs.registry`)."""

from ansinh.collection import billing_jobs  # noqa: F401 - billing of a month
