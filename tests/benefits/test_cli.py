"""``ansinh benefits …`` through Typer's runner: a claim filed, assessed, decided, shown and its decision written; the
officer's steps; the queue; the employer's list and the employment office's decisions; errors as ``--option:
message`` with exit code 2; ``--as`` acting as a user of a province."""

import json
from datetime import date

import pytest
from pypdf import PdfReader
from typer.testing import CliRunner

from ansinh.benefits.cli import benefits_app
from ansinh.benefits.eligibility import Assessment

runner = CliRunner()


@pytest.fixture
def cli(db, session, bworld, monkeypatch):
    monkeypatch.setattr("ansinh.db.get_database", lambda: db)
    monkeypatch.setattr("ansinh.benefits.eligibility.assess",
                        lambda session, claim, *, on: Assessment(eligible=True, amount=2_340_000))
    worker = bworld.work(bworld.person("Trần Văn An"), bworld.employer_hn, date(2025, 1, 1))
    session.commit()

    def run(*args: str, ok: bool = True):
        result = runner.invoke(benefits_app, list(args))
        if ok:
            assert result.exit_code == 0, result.output
        return result

    return run, worker


def _json(result) -> dict:
    return json.loads(result.stdout)


def test_a_claim_from_filing_to_its_decision(cli, tmp_path):
    run, worker = cli
    filed = _json(run("file", "--type", "sickness", "--citizen-id", worker.citizen_id, "--filed-on", "2026-03-02",
                      "--channel", "counter", "--detail", "leave_from=2026-02-23", "--detail", "days=5", "--json"))
    assert (filed["status"], filed["deadline"], filed["details"]) == (
        "accepted", "2026-03-11", {"leave_from": "2026-02-23", "days": 5, "hazardous": False})
    claim = str(filed["id"])
    run("assess", claim, "--on", "2026-03-04")
    decided = run("decide", claim, "--on", "2026-03-05")
    assert "decision 00001/2026/QĐ-BHXH-01 of 2026-03-05: granted" in decided.stdout
    shown = _json(run("show", claim, "--json"))
    assert {"status", "type", "channel", "filed_on", "deadline", "decision", "amount", "payments"} <= set(shown)
    assert (shown["status"], shown["type"], shown["channel"], shown["amount"], shown["payments"]) == (
        "granted", "sickness", "counter", 2_340_000, [])
    text = run("show", claim).stdout
    assert "2026-03-05 assessed → granted by cli:" in text
    out = tmp_path / "qd.pdf"
    assert "wrote" in run("decision", claim, "--out", str(out)).stdout
    page = PdfReader(str(out)).pages[0].extract_text()
    assert "00001/2026/QĐ-BHXH-01" in page and "Hai triệu ba trăm bốn mươi nghìn đồng" in page


def test_the_officers_steps_appeal_and_the_queue(cli):
    run, worker = cli
    filed = _json(run("file", "--type", "sickness", "--citizen-id", worker.citizen_id, "--filed-on", "2026-03-02",
                      "--detail", "leave_from=2026-02-23", "--detail", "days=5", "--missing", "Giấy ra viện",
                      "--json"))
    claim = str(filed["id"])
    assert (filed["status"], filed["missing"]) == ("incomplete", ["Giấy ra viện"])
    assert _json(run("complete", claim, "--on", "2026-03-09", "--json"))["deadline"] == "2026-03-18"
    due = _json(run("due", "--on", "2026-03-18", "--json"))
    assert [row["id"] for row in due["due_today"]] == [filed["id"]]
    assert "late: 1" in run("due", "--on", "2026-03-19").stdout
    assert _json(run("incomplete", claim, "--missing", "Sổ BHXH", "--on", "2026-03-10", "--json"))["status"] == \
        "incomplete"
    run("complete", claim, "--on", "2026-03-11")
    run("assess", claim, "--on", "2026-03-12")
    run("decide", claim, "--refuse", "Giấy ra viện không hợp lệ", "--on", "2026-03-13")
    appealed = _json(run("appeal", claim, "--reason", "Bổ sung giấy tờ", "--on", "2026-03-16", "--json"))
    assert (appealed["status"], appealed["appeal_count"]) == ("accepted", 1)
    # the operator decided it: another officer re-assesses and decides
    refused = run("assess", claim, "--on", "2026-03-17", ok=False)
    assert refused.exit_code == 2 and "another officer" in refused.output
    run("--as", "b-hanoi-2", "assess", claim, "--on", "2026-03-17")
    regranted = _json(run("--as", "b-hanoi-2", "decide", claim, "--on", "2026-03-18", "--json"))
    assert (regranted["status"], regranted["decision"]["decided_by"]) == ("granted", "b-hanoi-2")
    second = _json(run("file", "--type", "sickness", "--citizen-id", worker.citizen_id, "--filed-on", "2026-03-20",
                       "--detail", "leave_from=2026-03-16", "--detail", "days=2", "--json"))
    assert _json(run("withdraw", str(second["id"]), "--on", "2026-03-20", "--json"))["status"] == "withdrawn"


def test_bad_input_and_other_provinces_are_errors_with_exit_code_2(cli):
    run, worker = cli
    bad_type = run("file", "--type", "bonus", "--citizen-id", worker.citizen_id, ok=False)
    assert bad_type.exit_code == 2 and "--type: one of lump_sum" in bad_type.output
    bad_date = run("file", "--type", "sickness", "--citizen-id", worker.citizen_id, "--filed-on", "2026-02-30",
                   ok=False)
    assert bad_date.exit_code == 2 and "--filed-on: not a date" in bad_date.output
    ground = run("file", "--type", "lump_sum", "--citizen-id", worker.citizen_id, "--filed-on", "2025-06-30",
                 "--ground", "incapacity_81", ok=False)
    assert ground.exit_code == 2 and "--ground: incapacity_81 is not a ground" in ground.output
    detail = run("file", "--type", "sickness", "--citizen-id", worker.citizen_id, "--filed-on", "2026-03-02",
                 "--detail", "days", ok=False)
    assert detail.exit_code == 2 and "--detail: write key=value" in detail.output
    missing = run("show", "999999", ok=False)
    assert missing.exit_code == 2 and "--id: Claim 999,999 does not exist." in missing.output
    filed = _json(run("file", "--type", "sickness", "--citizen-id", worker.citizen_id, "--filed-on", "2026-03-02",
                      "--detail", "leave_from=2026-02-23", "--detail", "days=5", "--json"))
    elsewhere = run("--as", "b-sonla", "show", str(filed["id"]), ok=False)
    assert elsewhere.exit_code == 2 and "does not exist" in elsewhere.output
    nobody = run("--as", "nobody", "show", str(filed["id"]), ok=False)
    assert nobody.exit_code == 2 and "--as: no user 'nobody'" in nobody.output
    undecided = run("decision", str(filed["id"]), "--out", "/nonexistent/x.pdf", ok=False)
    assert undecided.exit_code == 2 and "has no decision" in undecided.output


def test_the_employers_list_and_the_employment_offices_decisions(cli, tmp_path):
    run, worker = cli
    batch = tmp_path / "01b.csv"
    batch.write_text("line,citizen_id,type,leave_from,days\n"
                     f"1,{worker.citizen_id},sickness,2026-02-23,5\n"
                     "2,001099999999,sickness,2026-02-23,3\n")
    sent = run("employer-batch", str(batch), "--employer", "0100109106", "--on", "2026-03-02")
    assert "01b.csv: done" in sent.stdout and "1 filed, 0 filed before, 1 rejected" in sent.stdout
    assert "01b.csv, row 3, citizen_id: No person is registered with citizen ID 001099999999." in sent.stdout
    again = _json(run("employer-batch", str(batch), "--employer", "0100109106", "--json"))
    assert again["status"] == "replayed"
    refused = run("--as", "b-sonla", "employer-batch", str(batch), "--employer", "0100109106", ok=False)
    assert refused.exit_code == 2 and "--employer: No employer with tax code 0100109106." in refused.output
    decisions = tmp_path / "tcvl.csv"
    decisions.write_text("decision_number,decision_on,citizen_id,employment_ended_on,benefit_months,monthly_amount\n"
                         f"15/QĐ-TTDVVL,2026-02-13,{worker.citizen_id},2026-01-31,3,6000000\n")
    imported = _json(run("unemployment-import", str(decisions), "--on", "2026-03-02", "--json"))
    assert (imported["filed"], imported["outcomes"][0]["status"]) == (1, "filed")
    unreadable = tmp_path / "bad.csv"
    unreadable.write_text("a,b\n1,2\n")
    rejected = run("unemployment-import", str(unreadable), "--on", "2026-03-02", ok=False)
    assert rejected.exit_code == 1 and "bad.csv, row 1, decision_number" in rejected.stdout
    assert run("unemployment-import", str(tmp_path / "none.csv"), ok=False).exit_code == 2
