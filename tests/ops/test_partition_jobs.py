"""The monthly partitions as a job: one chunk per partitioned table, the months ahead made on PostgreSQL, nothing
done (and said) on SQLite; bad parameters refused before anything is written."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from ansinh.errors import ValidationFailed
from ansinh.jobs.models import Job, JobChunk
from ansinh.ops.partitions import PARTITIONED, list_partitions
from tests.jobs.test_service import start


def test_the_job_makes_the_months_ahead_of_every_table(db):
    job = start(db, "partitions", {"period": "2044-12", "months_ahead": "2"})
    assert (job.status, job.params["period"], job.params["months_ahead"]) == ("completed", "2044-12", 2)
    with db.unit_of_work() as s:
        chunks = dict(s.execute(select(JobChunk.chunk, JobChunk.status).where(JobChunk.job_id == job.id)).all())
        assert chunks == {table: "done" for table in PARTITIONED}
        names = {p.name for p in list_partitions(s)}
    if db.engine.dialect.name != "postgresql":
        assert names == set() and job.result["supported"] is False
        return
    assert {f"{table}_p204502" for table in PARTITIONED} <= names
    assert not any(name.endswith("_p204503") for name in names)
    assert job.result["through"] == "2045-02" and set(job.result["partitions"]) == set(PARTITIONED)
    again = start(db, "partitions", {"period": "2044-12", "months_ahead": "2"})  # the same key: the same job
    assert again.id == job.id


@pytest.mark.parametrize("params, field", [({"period": "2044-13"}, "period"),
                                           ({"period": "2044-12", "months_ahead": "25"}, "months_ahead"),
                                           ({"period": "2044-12", "months_ahead": "many"}, "months_ahead")])
def test_bad_parameters_are_refused_and_nothing_is_written(db, params, field):
    with pytest.raises(ValidationFailed) as refused:
        start(db, "partitions", params)
    assert refused.value.field == field
    with db.unit_of_work() as s:
        assert s.scalar(select(func.count()).select_from(Job).where(Job.kind == "partitions")) == 0
