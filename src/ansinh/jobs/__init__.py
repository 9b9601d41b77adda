"""Batch work as jobs: a run of a registered kind (billing of a month, the payroll, ...) split in chunks, each
chunk run in-process or as a Celery task on a worker (see :mod:`ansinh.jobs.service`)."""
