from datetime import date

import pytest

from ansinh.errors import ValidationFailed
from ansinh.registry.identifiers import check_citizen_id, check_tax_code, normalise_name, search_key


def test_citizen_id_structure_follows_date_of_birth_and_sex():
    assert check_citizen_id("001090012345", date(1990, 5, 1), "male") == "001090012345"
    assert check_citizen_id("001190012345", date(1990, 5, 1), "female")
    assert check_citizen_id("079205001234", date(2005, 1, 1), "male")  # 2 = 2000s male
    assert check_citizen_id("079305001234", date(2005, 1, 1), "female")  # 3 = 2000s female
    with pytest.raises(ValidationFailed, match="born in 1991"):
        check_citizen_id("001091012345", date(1990, 5, 1), "male")
    with pytest.raises(ValidationFailed, match="says female"):
        check_citizen_id("001190012345", date(1990, 5, 1), "male")
    with pytest.raises(ValidationFailed, match="12 digits"):
        check_citizen_id("00109001234", date(1990, 5, 1), "male")
    with pytest.raises(ValidationFailed, match="province code"):
        check_citizen_id("099090012345", date(1990, 5, 1), "male", province_codes={"001", "079"})


def test_tax_codes_with_check_digit_and_branches():
    assert check_tax_code("0100109106") == "0100109106"  # Viettel
    assert check_tax_code("0300588569-001") == "0300588569001"  # a Vinamilk branch
    with pytest.raises(ValidationFailed, match="check digit"):
        check_tax_code("0100109107")
    with pytest.raises(ValidationFailed, match="10 digits"):
        check_tax_code("01001091")


def test_names_and_search_keys():
    assert normalise_name("  Nguyễn   Văn  A ") == "Nguyễn Văn A"
    assert search_key("Nguyễn Văn Ánh") == "nguyen van anh"
    assert search_key("Đặng Thị Đào") == "dang thi dao"
    decomposed = "Nguye\u0302\u0303n"  # NFD input
    assert normalise_name(decomposed) == "Nguyễn" and search_key(decomposed) == "nguyen"
