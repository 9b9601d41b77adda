"""FHIR R4 claim pre-check: a facility's system sends one ``Claim``, the automatic appraisal runs on it with the same
context as :func:`ansinh.claims.appraisal.service.appraise_claims`, the answer is a ``ClaimResponse``.

**Nothing is stored** as a claim: the national claim file (intake) is how claims are sent for payment; this is a
pre-check of one episode before it is sent (the request is audited, its findings are not kept). Other current claims
of the same person count as history (duplicates, overlapping stays, visits); the stored version of the same episode
(``Claim.identifier`` = MA_LK at the same facility), if any, does not.

Mapping of the Claim (identifier systems and conventions of :mod:`ansinh.cards.fhir`):

- ``use`` must be ``claim``; ``status`` ``active``.
- ``provider.identifier`` (system ``facility-code``): the facility (MA_CSKCB).
- ``patient``: ``patient.identifier`` (citizen ID or HI card code), or a contained Patient (``"reference":
  "#id"``) with such an identifier; the contained Patient's ``birthDate`` is required (the appraisal compares it
  with the registry). ``insurance[0].coverage.identifier`` (system ``hi-card``) is the card code (MA_THE_BHYT),
  else the patient's card identifier.
- ``billablePeriod.start``/``end``: arrival and discharge (NGAY_VAO, NGAY_RA); times with an offset are converted
  to Vietnam's local time, times without one are Vietnam's.
- ``supportingInfo`` of category ``hospitalized`` (terminology.hl7.org claiminformationcategory):
  ``timingPeriod.start`` is the inpatient admission (NGAY_VAO_NOI_TRU).
- care type (MA_LOAI_KCB, ``01`` … ``09``): ``subType.coding`` of system :data:`CARE_TYPE_SYSTEM`; without it,
  ``03`` (inpatient) when there is an admission, else ``01`` (outpatient examination). Treatment days (SO_NGAY_DTRI)
  follow the care type (Decision 130 as amended; ``claims.treatment_days_extra``).
- visit category (MA_DOITUONG_KCB): the extension :data:`EXT_VISIT_CATEGORY` (``valueCode``), default ``1.1``.
- benefit level (MUC_HUONG, percent): the extension :data:`EXT_BENEFIT_PERCENTAGE` (``valueDecimal``, e.g. 80), else
  the card's benefit digit (third character of the card code) through ``hi_benefits.benefit_level`` on the visit day.
- ``diagnosis``: ICD-10 codes (system ``http://hl7.org/fhir/sid/icd-10``); sequence 1 (or type ``principal``) is
  the main diagnosis (MA_BENH_CHINH), the others MA_BENH_KT.
- ``item[]``: ``productOrService.coding`` of system :data:`ITEM_SYSTEM` is the item's code of the facility's price
  list (MA_DICH_VU / MA_THUOC / MA_VAT_TU); ``category.coding`` of system :data:`LINE_KIND_SYSTEM` is the kind
  (drug, service, supply, bed), and of :data:`COST_GROUP_SYSTEM` the cost group (MA_NHOM); ``quantity.value``,
  ``unitPrice.value`` (VND, up to 3 decimals), ``net.value`` (VND; default quantity × unit price, rounded half up);
  ``factor`` the payment rate (TYLE_TT_BH, 0 to 1, default 1); ``servicedDate`` or ``servicedPeriod`` (start:
  ordered, end: performed). Per line: hospital amount = net, insured = net × rate, fund share = insured × benefit
  level, each rounded half up to the dong; co-payment = insured − fund share.
- ``total`` (optional): the hospital total (T_TONGCHI_BV), compared with the lines by the TOTALS rule.

The ClaimResponse: ``outcome`` ``complete`` (accepted), ``partial`` (part refused) or ``error`` (the whole claim
refused); per item an adjudication ``submitted`` (hospital amount), ``eligible`` (insured), ``eligpercent``
(benefit level), ``benefit`` (fund share less what is refused) and one ``disallowed`` adjudication per finding on
the line, its ``reason`` coded in :data:`RULE_SYSTEM` (the appraisal rule's code); claim-level findings are
``adjudication`` of the response; ``total[]`` the same sums; ``processNote`` every finding in the caller's language.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

import polars as pl
from sqlalchemy import select

from ansinh import i18n
from ansinh.audit.service import record_read
from ansinh.auth.models import OrgUnit, Role
from ansinh.auth.permissions import Permission, Principal, ensure_in_scope, ensure_permission
from ansinh.bounds import MAX_AMOUNT, check_day
from ansinh.cards.fhir import (
    BASE,
    CITIZEN_ID_SYSTEM,
    FACILITY_SYSTEM,
    HI_CARD_SYSTEM,
    _coding,
    _facility_reference,
    _instant,
    _insurer,
)
from ansinh.cards.models import HICard
from ansinh.claims.appraisal.engine import CLAIM_SCHEMA, LINE_SCHEMA, appraise
from ansinh.claims.appraisal.rules import appraisal_rules, describe
from ansinh.claims.appraisal.service import default_icd, default_prices, load_context
from ansinh.claims.models import Claim
from ansinh.clock import VIETNAM
from ansinh.db import utcnow
from ansinh.formatting import number
from ansinh.errors import BadQuery, PermissionDenied, ValidationFailed
from ansinh.i18n import N_
from ansinh.rules.parameters import get_parameters

#: Our code systems and extensions of claims.
CARE_TYPE_SYSTEM = f"{BASE}/CodeSystem/care-type"  # MA_LOAI_KCB
LINE_KIND_SYSTEM = f"{BASE}/CodeSystem/claim-line-kind"  # drug | service | supply | bed
COST_GROUP_SYSTEM = f"{BASE}/CodeSystem/cost-group"  # MA_NHOM
ITEM_SYSTEM = f"{BASE}/CodeSystem/price-list-item"  # the item's code in the facility's price list
RULE_SYSTEM = f"{BASE}/CodeSystem/appraisal-rule"  # the appraisal rules (ansinh.claims.appraisal.rules)
ADJUDICATION_SYSTEM = f"{BASE}/CodeSystem/adjudication"  # disallowed
EXT_VISIT_CATEGORY = f"{BASE}/StructureDefinition/visit-category"  # MA_DOITUONG_KCB
EXT_BENEFIT_PERCENTAGE = f"{BASE}/StructureDefinition/benefit-percentage"  # MUC_HUONG
ICD10_SYSTEM = "http://hl7.org/fhir/sid/icd-10"
_HL7 = "http://terminology.hl7.org/CodeSystem"
PATIENT_SYSTEMS = (CITIZEN_ID_SYSTEM, HI_CARD_SYSTEM)
CARE_TYPES = ("01", "02", "03", "04", "05", "06", "07", "08", "09")
LINE_KINDS = ("drug", "service", "supply", "bed")
OUTPATIENT_EXAMINATION, INPATIENT = "01", "03"
DEFAULT_VISIT_CATEGORY = "1.1"
ZERO_DAY_CARE = ("01", "07", "09")
DATED_CARE = ("02", "03", "04", "06")
BENEFIT_LEVEL = "hi_benefits.benefit_level"
TREATMENT_DAYS_EXTRA = "claims.treatment_days_extra"
#: The claim of a pre-check has no row: its id in the batch (stored claims have positive ids).
PRECHECK_CLAIM_ID = 0
MILLI = Decimal(1000)
OUTCOMES = {"accepted": "complete", "partly_accepted": "partial", "rejected": "error"}
DISPOSITIONS = {
    "accepted": N_("Accepted by the automatic appraisal: the fund would pay {fund} dong."),
    "partly_accepted": N_("Partly accepted by the automatic appraisal: {refused} of {claimed} dong refused."),
    "rejected": N_("Refused by the automatic appraisal: none of the {claimed} dong claimed would be paid."),
}


@dataclass
class ClaimRequest:
    """What a FHIR Claim says, in the engine's terms."""

    facility_code: str
    patient_keys: dict[str, str]  # citizen_id and/or card_code
    card_code: str | None
    date_of_birth: date
    episode_key: str | None
    claim: dict[str, Any]  # the CLAIM_SCHEMA values (claim_id, person_id set later)
    lines: list[dict[str, Any]]  # the LINE_SCHEMA values
    sequences: list[int]  # item sequence of each line
    request_reference: dict = field(default_factory=dict)
    claim_type: dict = field(default_factory=dict)


def _bad(element: str, message: str, **params: Any) -> ValidationFailed:
    """A Claim that cannot be appraised: 422 naming the element (its FHIR path)."""
    return ValidationFailed(element, message, **params)


def _object(value: Any, path: str) -> dict:
    if not isinstance(value, dict):
        raise _bad(path, N_("{path} is an object; got {value}."), path=path, value=repr(value)[:80])
    return value


def _list(value: Any, path: str, *, required: bool = False) -> list:
    if value is None and not required:
        return []
    if not isinstance(value, list) or (required and not value):
        raise _bad(path, N_("{path} is a list that cannot be empty."), path=path)
    return value


def _codes(concept: Any, path: str, system: str) -> list[str]:
    """The codes of one system in a CodeableConcept."""
    if concept is None:
        return []
    concept = _object(concept, path)
    codes = []
    for index, coding in enumerate(_list(concept.get("coding"), f"{path}.coding")):
        coding = _object(coding, f"{path}.coding[{index}]")
        if coding.get("system") == system:
            if not isinstance(coding.get("code"), str) or not coding["code"].strip():
                raise _bad(f"{path}.coding[{index}].code", N_("Give the code."))
            codes.append(coding["code"].strip())
    return codes


def _moment(value: Any, path: str) -> datetime:
    """A FHIR date or dateTime as Vietnam's local time without a zone."""
    if not isinstance(value, str):
        raise _bad(path, N_("{path} is a date-time (YYYY-MM-DDThh:mm:ss+07:00); got {value}."), path=path,
                   value=repr(value)[:80])
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00")) if "T" in value else \
            datetime.combine(date.fromisoformat(value), datetime.min.time())
        check_day(moment.date())
    except ValueError:
        raise _bad(path, N_("{path} is a date-time (YYYY-MM-DDThh:mm:ss+07:00); got {value}."), path=path,
                   value=value[:80]) from None
    if moment.tzinfo is not None:
        moment = moment.astimezone(VIETNAM).replace(tzinfo=None)
    return moment


def _decimal(value: Any, path: str, *, places: int) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise _bad(path, N_("{path} is a number; got {value}."), path=path, value=repr(value)[:80])
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise _bad(path, N_("{path} is a number; got {value}."), path=path, value=repr(value)[:80]) from None
    if not number.is_finite() or number < 0 or number > MAX_AMOUNT or number != round(number, places):
        raise _bad(path, N_("{path} is a number from 0 to {maximum} with at most {places} decimals; got {value}."),
                   path=path, maximum=MAX_AMOUNT, places=places, value=str(value)[:40])
    return number


def _money(value: Any, path: str, *, places: int = 2) -> Decimal:
    money = _object(value, path)
    if money.get("currency", "VND") != "VND":
        raise _bad(f"{path}.currency", N_("Amounts are in VND; got {value}."), value=repr(money.get("currency")))
    return _decimal(money.get("value"), f"{path}.value", places=places)


def _dong(value: Decimal) -> int:
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _identifier(value: Any, path: str, systems: tuple[str, ...]) -> tuple[str, str]:
    identifier = _object(value, path)
    system, text = identifier.get("system"), identifier.get("value")
    if system not in systems:
        raise _bad(f"{path}.system", N_("Use one of the identifier systems {accepted}; got {value}."),
                   accepted=", ".join(systems), value=repr(system))
    if not isinstance(text, str) or not text.strip():
        raise _bad(f"{path}.value", N_("Give the identifier value."))
    return system, text.strip().upper()


def parse_claim(raw: bytes, *, parameters=None) -> ClaimRequest:
    """Read a FHIR R4 Claim (JSON) into the engine's claim and lines; ValidationFailed naming the element when it
    cannot be appraised (BadQuery when it is not a Claim at all)."""
    parameters = parameters or get_parameters()
    try:
        resource = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise BadQuery("body", N_("The request body is not valid JSON.")) from None
    if not isinstance(resource, dict) or resource.get("resourceType") != "Claim":
        found = resource.get("resourceType") if isinstance(resource, dict) else type(resource).__name__
        raise BadQuery("resourceType", N_("The body must be a Claim; got {value}."), value=repr(found))
    if resource.get("use") != "claim":
        raise _bad("use", N_("Only use 'claim' is pre-checked; got {value}."), value=repr(resource.get("use")))
    if resource.get("status", "active") != "active":
        raise _bad("status", N_("Only an active Claim is pre-checked; got {value}."),
                   value=repr(resource.get("status")))

    # facility, patient, card
    provider = _object(resource.get("provider"), "provider")
    _, facility_code = _identifier(provider.get("identifier"), "provider.identifier", (FACILITY_SYSTEM,))
    patient = _object(resource.get("patient"), "patient")
    contained = None
    if isinstance(patient.get("reference"), str) and patient["reference"].startswith("#"):
        wanted = patient["reference"][1:]
        contained = next((entry for entry in _list(resource.get("contained"), "contained")
                          if isinstance(entry, dict) and entry.get("resourceType") == "Patient"
                          and entry.get("id") == wanted), None)
        if contained is None:
            raise _bad("patient.reference", N_("No contained Patient {value} in the Claim."),
                       value=patient["reference"])
    keys: dict[str, str] = {}
    identifiers = [(patient.get("identifier"), "patient.identifier")] if patient.get("identifier") else []
    if contained is not None:
        identifiers += [(entry, f"contained.Patient.identifier[{index}]")
                        for index, entry in enumerate(_list(contained.get("identifier"), "contained.Patient.identifier"))
                        if isinstance(entry, dict) and entry.get("system") in PATIENT_SYSTEMS]
    for value, path in identifiers:
        system, text = _identifier(value, path, PATIENT_SYSTEMS)
        keys.setdefault("citizen_id" if system == CITIZEN_ID_SYSTEM else "card_code", text)
    card_code = keys.get("card_code")
    for index, entry in enumerate(_list(resource.get("insurance"), "insurance", required=True)):
        coverage = _object(_object(entry, f"insurance[{index}]").get("coverage"), f"insurance[{index}].coverage")
        if coverage.get("identifier") is not None:
            _, code = _identifier(coverage["identifier"], f"insurance[{index}].coverage.identifier",
                                  (HI_CARD_SYSTEM,))
            card_code = card_code or code
    if not keys and card_code is None:
        raise _bad("patient.identifier", N_("Identify the patient by citizen ID or card code ({accepted})."),
                   accepted=", ".join(PATIENT_SYSTEMS))
    if card_code is None:
        raise _bad("insurance[0].coverage.identifier", N_("Give the patient's HI card code ({accepted})."),
                   accepted=HI_CARD_SYSTEM)
    keys.setdefault("card_code", card_code)
    born = (contained or {}).get("birthDate")
    if born is None:
        raise _bad("contained.Patient.birthDate",
                   N_("Give the patient's birth date in a contained Patient: the appraisal compares it with the "
                      "registry."))
    born_at = _moment(born, "contained.Patient.birthDate")

    # the stay
    period = _object(resource.get("billablePeriod"), "billablePeriod")
    arrived = _moment(period.get("start"), "billablePeriod.start")
    discharged = _moment(period.get("end"), "billablePeriod.end") if period.get("end") is not None else arrived
    if discharged < arrived:
        raise _bad("billablePeriod.end", N_("The end of the billable period is before its start."))
    admitted = None
    for index, info in enumerate(_list(resource.get("supportingInfo"), "supportingInfo")):
        info = _object(info, f"supportingInfo[{index}]")
        if "hospitalized" in _codes(info.get("category"), f"supportingInfo[{index}].category",
                                    f"{_HL7}/claiminformationcategory"):
            timing = _object(info.get("timingPeriod"), f"supportingInfo[{index}].timingPeriod")
            admitted = _moment(timing.get("start"), f"supportingInfo[{index}].timingPeriod.start")
    care = _codes(resource.get("subType"), "subType", CARE_TYPE_SYSTEM)
    care_type = care[0] if care else (INPATIENT if admitted is not None else OUTPATIENT_EXAMINATION)
    if care_type not in CARE_TYPES:
        raise _bad("subType", N_("The care type is one of {accepted}; got {value}."), accepted=", ".join(CARE_TYPES),
                   value=care_type)
    extensions = {entry.get("url"): entry for entry in _list(resource.get("extension"), "extension")
                  if isinstance(entry, dict)}
    visit_category = extensions.get(EXT_VISIT_CATEGORY, {}).get("valueCode", DEFAULT_VISIT_CATEGORY)
    if not isinstance(visit_category, str) or not 0 < len(visit_category) <= 8:
        raise _bad("extension.visit-category", N_("The visit category is a code of the Ministry's catalogue (e.g. "
                                                  "1.1); got {value}."), value=repr(visit_category)[:40])
    day = arrived.date()
    if EXT_BENEFIT_PERCENTAGE in extensions:
        benefit = _decimal(extensions[EXT_BENEFIT_PERCENTAGE].get("valueDecimal"),
                           "extension.benefit-percentage.valueDecimal", places=0)
        if benefit > 100:
            raise _bad("extension.benefit-percentage.valueDecimal", N_("A percentage is at most 100; got {value}."),
                       value=str(benefit))
        benefit_pct = int(benefit)
    else:
        try:
            benefit_pct = int(parameters[BENEFIT_LEVEL].at(day, card_code[2:3]) * 100)
        except ValidationFailed:
            raise _bad("insurance[0].coverage.identifier", N_("Card code {value} has no benefit level on {day}."),
                       value=card_code, day=day.isoformat()) from None
    if care_type in ZERO_DAY_CARE:
        treatment_days = 0
    elif care_type in DATED_CARE:
        treatment_days = (discharged.date() - day).days + parameters[TREATMENT_DAYS_EXTRA].at(day)
    else:
        treatment_days = None

    # diagnoses
    main_icd, other_icd = None, []
    for index, entry in enumerate(_list(resource.get("diagnosis"), "diagnosis", required=True)):
        entry = _object(entry, f"diagnosis[{index}]")
        codes = _codes(entry.get("diagnosisCodeableConcept"), f"diagnosis[{index}].diagnosisCodeableConcept",
                       ICD10_SYSTEM)
        if not codes:
            raise _bad(f"diagnosis[{index}].diagnosisCodeableConcept",
                       N_("Give an ICD-10 code (system {accepted})."), accepted=ICD10_SYSTEM)
        principal = entry.get("sequence") == 1 or any(
            "principal" in _codes(kind, f"diagnosis[{index}].type", f"{_HL7}/ex-diagnosistype")
            for kind in _list(entry.get("type"), f"diagnosis[{index}].type"))
        if principal and main_icd is None:
            main_icd = codes[0]
        else:
            other_icd.append(codes[0])
    if main_icd is None:
        main_icd = other_icd.pop(0)

    # items
    lines, sequences = [], []
    for index, item in enumerate(_list(resource.get("item"), "item", required=True)):
        path = f"item[{index}]"
        item = _object(item, path)
        sequence = item.get("sequence")
        if isinstance(sequence, bool) or not isinstance(sequence, int) or sequence < 1 or sequence in sequences:
            raise _bad(f"{path}.sequence", N_("Each item has its own sequence number (1, 2 …)."))
        codes = _codes(item.get("productOrService"), f"{path}.productOrService", ITEM_SYSTEM)
        if not codes:
            raise _bad(f"{path}.productOrService", N_("Give the item's code of the price list (system {accepted})."),
                       accepted=ITEM_SYSTEM)
        kinds = _codes(item.get("category"), f"{path}.category", LINE_KIND_SYSTEM)
        if not kinds or kinds[0] not in LINE_KINDS:
            raise _bad(f"{path}.category", N_("Give the kind of the item ({accepted}, system {system})."),
                       accepted=", ".join(LINE_KINDS), system=LINE_KIND_SYSTEM)
        groups = _codes(item.get("category"), f"{path}.category", COST_GROUP_SYSTEM)
        quantity = _decimal(_object(item.get("quantity"), f"{path}.quantity").get("value"),
                            f"{path}.quantity.value", places=3)
        unit_price = _money(item.get("unitPrice"), f"{path}.unitPrice", places=3)
        if quantity * unit_price > MAX_AMOUNT:
            raise _bad(f"{path}.quantity.value", N_("Quantity × unit price is above {maximum} dong."),
                       maximum=MAX_AMOUNT)
        hospital = _dong(_money(item["net"], f"{path}.net") if item.get("net") is not None else quantity * unit_price)
        rate = _decimal(item.get("factor", 1), f"{path}.factor", places=2)
        if rate > 1:
            raise _bad(f"{path}.factor", N_("The payment rate is between 0 and 1; got {value}."), value=str(rate))
        insured = _dong(hospital * rate)
        fund = _dong(Decimal(insured) * benefit_pct / 100)
        if item.get("servicedPeriod") is not None:
            served = _object(item["servicedPeriod"], f"{path}.servicedPeriod")
            ordered = _moment(served.get("start"), f"{path}.servicedPeriod.start")
            performed = _moment(served["end"], f"{path}.servicedPeriod.end") if served.get("end") else ordered
        elif item.get("servicedDate") is not None:
            ordered = performed = _moment(item["servicedDate"], f"{path}.servicedDate")
        else:
            ordered = performed = None
        sequences.append(sequence)
        lines.append({"line_id": sequence, "claim_id": PRECHECK_CLAIM_ID, "kind": kinds[0], "code": codes[0],
                      "cost_group": groups[0] if groups else None,
                      "quantity_milli": int(quantity * MILLI), "unit_price_milli": int(unit_price * MILLI),
                      "payment_rate": int(rate * 100), "benefit_pct": benefit_pct, "hospital_amount": hospital,
                      "insured_amount": insured, "fund_amount": fund, "ordered_at": ordered,
                      "performed_at": performed})
    total_hospital = sum(line["hospital_amount"] for line in lines)
    if resource.get("total") is not None:
        total_hospital = _dong(_money(resource["total"], "total"))
    total_insured = sum(line["insured_amount"] for line in lines)
    fund_claimed = sum(line["fund_amount"] for line in lines)
    claim = {"claim_id": PRECHECK_CLAIM_ID, "facility_code": facility_code, "person_id": None,
             "card_code": card_code, "date_of_birth": born_at.date(), "visit_category": visit_category,
             "care_type": care_type, "main_icd": main_icd, "other_icd": ";".join(other_icd) or None,
             "arrived_at": arrived, "admitted_at": admitted, "discharged_at": discharged,
             "treatment_days": treatment_days, "total_hospital": total_hospital, "total_insured": total_insured,
             "patient_copay": total_insured - fund_claimed, "patient_pays": max(0, total_hospital - total_insured),
             "fund_claimed": fund_claimed, "other_sources": 0}
    episode_key = None
    request_reference: dict[str, Any] = {"type": "Claim"}
    first = next(iter(_list(resource.get("identifier"), "identifier")), None)
    if isinstance(first, dict) and isinstance(first.get("value"), str) and first["value"].strip():
        episode_key = first["value"].strip()[:100]
        request_reference["identifier"] = {key: first[key] for key in ("system", "value")
                                           if isinstance(first.get(key), str)}
    claim_type = resource.get("type") if isinstance(resource.get("type"), dict) else {
        "coding": [_coding(f"{_HL7}/claim-type", "institutional")]}
    return ClaimRequest(facility_code=facility_code, patient_keys=keys, card_code=card_code,
                        date_of_birth=born_at.date(), episode_key=episode_key, claim=claim, lines=lines,
                        sequences=sequences, request_reference=request_reference, claim_type=claim_type)


# --- the pre-check ----------------------------------------------------------------------------------------------

def _may_precheck(session, principal: Principal, facility_code: str, today: date):
    """The facility, if the caller may pre-check its claims: its own facility user (with a contract in force), or
    staff allowed to appraise with the facility in their scope (403 otherwise, 404 for an unknown facility)."""
    from ansinh.cards import facilities

    if Role.facility in principal.roles and not principal.is_agency_staff:
        if principal.subject_ref != facility_code:
            raise PermissionDenied("You may pre-check claims only of your own facility.")
        facility = facilities.get_facility(session, facility_code)
        if facilities.contract_in_force(session, facility_code, today) is None:
            raise PermissionDenied("Facility {code} has no HI contract in force on {day}.", code=facility_code,
                                   day=today)
        return facility
    ensure_permission(principal, Permission.claims_appraise)
    facility = facilities.get_facility(session, facility_code)
    ensure_in_scope(principal, session.get(OrgUnit, facility.org_unit_id))
    return facility


def _person_id(session, keys: dict[str, str]) -> int | None:
    from ansinh.registry.service import person_ids_by_citizen_id

    if "citizen_id" in keys:
        return person_ids_by_citizen_id(session, [keys["citizen_id"]]).get(keys["citizen_id"])
    return session.scalar(select(HICard.person_id).where(HICard.card_code == keys["card_code"])
                          .order_by(HICard.id.desc()).limit(1))


def precheck_claim(session, *, principal: Principal, raw: bytes, today: date, prices_for=None, icd_known=None,
                   parameters=None) -> dict:
    """Appraise one FHIR Claim (nothing stored) and answer the ClaimResponse (a dict). The read of the person's
    records is audited."""
    parameters = parameters or get_parameters()
    request = parse_claim(raw, parameters=parameters)
    facility = _may_precheck(session, principal, request.facility_code, today)
    person_id = _person_id(session, request.patient_keys)
    claims = pl.DataFrame([{**request.claim, "person_id": person_id}], schema=CLAIM_SCHEMA)
    lines = pl.DataFrame(request.lines, schema=LINE_SCHEMA)
    not_history = []
    if request.episode_key:  # the stored version of the same episode is not another claim
        not_history.append(~((Claim.facility_code == request.facility_code)
                             & (Claim.episode_key == request.episode_key)))
    batch = load_context(session, claims, lines, people=[person_id] if person_id is not None else [],
                         not_history=not_history, parameters=parameters,
                         prices_for=prices_for or default_prices(), icd_known=icd_known or default_icd())
    result = appraise(batch)
    if person_id is not None:
        record_read(session, "person", person_id, org_unit_id=facility.org_unit_id,
                    person_ref=request.patient_keys.get("citizen_id") or request.card_code,
                    details={"via": "fhir_claim", "facility_code": request.facility_code,
                             "outcome": result.claims["outcome"][0]})
    return claim_response(request, result)


def _amount(value: int) -> dict:
    return {"value": int(value), "currency": "VND"}


def _adjudication(code: str, amount: int | None = None, *, value: int | None = None) -> dict:
    entry: dict[str, Any] = {"category": {"coding": [_coding(f"{_HL7}/adjudication", code)]}}
    if amount is not None:
        entry["amount"] = _amount(amount)
    if value is not None:
        entry["value"] = value
    return entry


def _finding_adjudication(rule_code: str, amount: int, text: str) -> dict:
    rule = appraisal_rules()[rule_code]
    return {"category": {"coding": [_coding(ADJUDICATION_SYSTEM, "disallowed", "Disallowed by the appraisal")]},
            "reason": {"coding": [_coding(RULE_SYSTEM, rule_code, rule.description_en)], "text": text},
            "amount": _amount(amount)}


def claim_response(request: ClaimRequest, result) -> dict:
    """The ClaimResponse of an appraised pre-check (see the module docstring)."""
    summary = result.claims.row(0, named=True)
    findings = result.findings.with_columns(text=pl.struct("rule", "details").map_elements(
        lambda row: describe(row["rule"], row["details"]), return_dtype=pl.String))
    refused_by_line = dict(result.lines.select("line_id", "disallowed").iter_rows())
    items = []
    for line in request.lines:
        sequence = line["line_id"]
        adjudication = [_adjudication("submitted", line["hospital_amount"]),
                        _adjudication("eligible", line["insured_amount"]),
                        _adjudication("eligpercent", value=line["benefit_pct"]),
                        _adjudication("benefit", max(0, line["fund_amount"] - refused_by_line.get(sequence, 0)))]
        adjudication += [_finding_adjudication(rule, amount, text) for rule, amount, text in findings.filter(
            pl.col("line_id") == sequence).select("rule", "amount", "text").iter_rows()]
        items.append({"itemSequence": sequence, "adjudication": adjudication})
    header = [_finding_adjudication(rule, amount, text) for rule, amount, text in findings.filter(
        pl.col("line_id").is_null()).select("rule", "amount", "text").iter_rows()]
    claimed, refused = int(summary["fund_claimed"]), int(summary["disallowed"])
    outcome = summary["outcome"]
    disposition = i18n.gettext(DISPOSITIONS[outcome]).format(fund=number(claimed - refused), refused=number(refused),
                                                            claimed=number(claimed))
    patient_identifier = ({"system": CITIZEN_ID_SYSTEM, "value": request.patient_keys["citizen_id"]}
                          if "citizen_id" in request.patient_keys
                          else {"system": HI_CARD_SYSTEM, "value": request.patient_keys["card_code"]})
    response: dict[str, Any] = {
        "resourceType": "ClaimResponse",
        "status": "active",
        "type": request.claim_type,
        "use": "claim",
        "patient": {"type": "Patient", "identifier": patient_identifier},
        "created": _instant(utcnow()),
        "insurer": _insurer(),
        "requestor": _facility_reference(request.facility_code, None),
        "request": request.request_reference,
        "outcome": OUTCOMES[outcome],
        "disposition": disposition,
        "item": items,
        "total": [
            {"category": {"coding": [_coding(f"{_HL7}/adjudication", "submitted")]},
             "amount": _amount(request.claim["total_hospital"])},
            {"category": {"coding": [_coding(f"{_HL7}/adjudication", "eligible")]},
             "amount": _amount(request.claim["total_insured"])},
            {"category": {"coding": [_coding(f"{_HL7}/adjudication", "benefit")]},
             "amount": _amount(claimed - refused)},
            {"category": {"coding": [_coding(ADJUDICATION_SYSTEM, "disallowed", "Disallowed by the appraisal")]},
             "amount": _amount(refused)},
        ],
    }
    if header:
        response["adjudication"] = header
    notes = findings["text"].to_list()
    if notes:
        response["processNote"] = [{"number": number, "type": "display", "text": text}
                                   for number, text in enumerate(notes, 1)]
    return response

