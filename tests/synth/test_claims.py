"""The synthetic claim files: deterministic for a seed, consistent to the cent, and faithful to what they are told."""

from __future__ import annotations

import io
import re
from datetime import date
from decimal import Decimal

from ansinh.synth.claims import EpisodeSpec, Faults, Patient, claim_file, write_claim_file

ON = date(2026, 11, 30)


def test_the_same_seed_gives_the_same_file_and_streaming_gives_the_same_bytes():
    assert claim_file("01001", 5, seed=3, on=ON) == claim_file("01001", 5, seed=3, on=ON)
    assert claim_file("01001", 5, seed=3, on=ON) != claim_file("01001", 5, seed=4, on=ON)
    stream = io.BytesIO()
    assert write_claim_file(stream, "01001", 5, seed=3, on=ON) == len(stream.getvalue())
    assert stream.getvalue() == claim_file("01001", 5, seed=3, on=ON)


def test_totals_are_the_sums_of_the_lines_to_the_cent():
    import base64

    data = claim_file("01001", 30, seed=5, on=ON)
    for hoso in re.findall(rb"<HOSO>(.*?)</HOSO>", data):
        tables = {k.decode(): base64.b64decode(v).decode() for k, v in
                  re.findall(rb"<LOAIHOSO>(.*?)</LOAIHOSO><NOIDUNGFILE>(.*?)</NOIDUNGFILE>", hoso)}
        lines = tables.get("XML2", "") + tables["XML3"]

        def total(tag: str, text: str) -> Decimal:
            return sum((Decimal(v) for v in re.findall(f"<{tag}>([^<]*)</{tag}>", text)), Decimal(0))

        assert total("T_TONGCHI_BV", tables["XML1"]) == total("THANH_TIEN_BV", lines)
        assert total("T_TONGCHI_BH", tables["XML1"]) == total("THANH_TIEN_BH", lines)
        assert total("T_BHTT", tables["XML1"]) == total("T_TONGCHI_BH", tables["XML1"]) - total("T_BNCCT",
                                                                                                  tables["XML1"])


def test_given_patients_and_faults_are_written_as_asked():
    patient = Patient(full_name="Lò Thị Xuân", date_of_birth=date(1970, 3, 8), sex=2, card_code="HT3140123456789",
                      citizen_id="014170000123")
    data = claim_file("14001", [EpisodeSpec(patient=patient, ma_lk="LK-X")], seed=1, on=ON,
                      faults=Faults(declared_count=2, envelope_facility="14999"))
    import base64

    summary = base64.b64decode(re.search(rb"<NOIDUNGFILE>(.*?)</NOIDUNGFILE>", data).group(1)).decode()
    assert "<HO_TEN>Lò Thị Xuân</HO_TEN>" in summary and "<MA_THE_BHYT>HT3140123456789</MA_THE_BHYT>" in summary
    assert "<MA_LK>LK-X</MA_LK>" in summary and "<MUC_HUONG>" not in summary
    assert b"<SOLUONGHOSO>2</SOLUONGHOSO>" in data and b"<MACSKCB>14999</MACSKCB>" in data
