"""FHIR R4 interface of health insurance cards, for the facilities' own systems at the desk.

- ``GET  /fhir/r4/metadata``: the CapabilityStatement (no sign-in needed; it reveals no data).
- ``POST /fhir/r4/CoverageEligibilityRequest`` (or ``.../$submit``): a CoverageEligibilityRequest in, a
  CoverageEligibilityResponse out. The patient is named by ``patient.identifier`` (citizen ID, SI number or card
  code, by the systems below) or by ``insurance[].coverage.identifier`` (card code); the day is ``servicedDate``
  (default today). It runs the same :func:`ansinh.cards.service.lookup` as ``/api/v1/cards/lookup``, so it is
  logged and audited the same way; an unknown person is a normal answer (``inforce: false``, reason
  ``unknown_person``), a malformed key or a day outside the rules is a 400.
- ``GET  /fhir/r4/Coverage/{id}``: the Coverage of one card version (``HICard.id``).

Every answer, errors included, is ``application/fhir+json``; an error is an OperationOutcome (the route class
below turns the domain errors into one, so the global ErrorBody handler never sees a FHIR path).

FHIR version: the resources are FHIR R4 (4.0.1), built as plain dicts (the desk's hot path must stay fast). The
tests validate them with the ``fhir.resources`` models of ``fhir.resources.R4B`` (FHIR 4.3.0): R4 4.0.1 models
exist only in ``fhir.resources`` <= 6.1, which needs pydantic 1 and does not import beside the pydantic 2 this
project runs on; 7.x and 8.x (pydantic 2) ship R5 as the default package, R4B and STU3, but no R4. R4B changed
none of the elements used here (Coverage, CoverageEligibilityRequest/Response, CapabilityStatement,
OperationOutcome), so valid R4B is valid R4 for these resources.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Annotated, Any

from anyio import to_thread
from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute
from sqlalchemy import select
from starlette.exceptions import HTTPException as StarletteHTTPException

from ansinh import __version__, clock, i18n
from ansinh.bounds import check_day
from ansinh.audit.service import record_read
from ansinh.audit.refusals import record_refusal
from ansinh.auth.deps import Public, CSRF_HEADER, DbSession, NotAuthenticated, require, verify_csrf
from ansinh.auth.permissions import Permission, Principal, Scope
from ansinh.cards import facilities, service
from ansinh.cards.api import desk_lane
from ansinh.cards.models import CardStatus, HICard, MedicalFacility
from ansinh.db import utcnow
from ansinh.errors import BadQuery, DomainError, NotFound, ValidationFailed, database_error
from ansinh.i18n import N_
from ansinh.registry import service as registry
from ansinh.registry.models import Person
from ansinh.rules.parameters import get_parameters

log = logging.getLogger("ansinh.fhir")

FHIR_VERSION = "4.0.1"
FHIR_JSON = "application/fhir+json"
ACCEPTED_MEDIA = frozenset({FHIR_JSON, "application/json"})

BASE = "https://ansinh.vn/fhir"
#: Identifier systems: the 12-digit citizen ID, the 10-digit SI number, the 15-character card code, the 5-digit
#: facility code, and the insurer.
CITIZEN_ID_SYSTEM = f"{BASE}/sid/citizen-id"
SI_NUMBER_SYSTEM = f"{BASE}/sid/si-number"
HI_CARD_SYSTEM = f"{BASE}/sid/hi-card"
FACILITY_SYSTEM = f"{BASE}/sid/facility-code"
INSURER_SYSTEM = f"{BASE}/sid/insurer"
#: Our code systems: why a card does not cover (the lookup's ``reason``), card status, benefit types.
REASON_SYSTEM = f"{BASE}/CodeSystem/card-lookup-reason"
CARD_STATUS_SYSTEM = f"{BASE}/CodeSystem/card-status"
BENEFIT_TYPE_SYSTEM = f"{BASE}/CodeSystem/benefit-type"
#: Our extensions.
EXT_REASON = f"{BASE}/StructureDefinition/not-covered-reason"
EXT_FACILITY = f"{BASE}/StructureDefinition/registered-facility"
EXT_FIVE_YEARS = f"{BASE}/StructureDefinition/five-years-from"
EXT_BENEFIT_LEVEL = f"{BASE}/StructureDefinition/benefit-level"
EXT_CARD_STATUS = f"{BASE}/StructureDefinition/card-status"
SUBMIT_OPERATION = f"{BASE}/OperationDefinition/CoverageEligibilityRequest-submit"

_HL7 = "http://terminology.hl7.org/CodeSystem"
PURPOSES = ("auth-requirements", "benefits", "discovery", "validation")
PATIENT_SYSTEMS = {CITIZEN_ID_SYSTEM: "citizen_id", SI_NUMBER_SYSTEM: "si_number", HI_CARD_SYSTEM: "card_code"}

INSURER_NAME = N_("Vietnam Social Security")
#: The lookup's reasons; the display is the code system's (English), the text is translated.
REASONS = {
    "unknown_person": N_("No person is registered with this identifier."),
    "name_mismatch": N_("The name does not match the person registered with this identifier."),
    "birth_date_mismatch": N_("The date of birth does not match the person registered with this identifier."),
    "no_coverage": N_("The person has no health insurance card in force."),
    "suspended": N_("The card is suspended."),
    "not_yet_valid": N_("The card is not yet valid on this day."),
    "expired": N_("The card has expired."),
    "card_replaced": N_("This card code has been replaced by a newer card."),
}
_ISSUE_CODES = {400: "invalid", 401: "login", 403: "forbidden", 404: "not-found", 405: "not-supported",
                409: "conflict", 413: "too-long", 415: "not-supported", 422: "invalid", 429: "throttled"}


class UnsupportedMediaType(DomainError):
    status_code = 415
    code = "unsupported_media_type"


# --- responses and errors ------------------------------------------------------------------------------------

def fhir_response(resource: dict, status_code: int = 200, headers: dict | None = None) -> JSONResponse:
    return JSONResponse(resource, status_code=status_code, media_type=FHIR_JSON, headers=headers)


def operation_outcome(status_code: int, diagnostics: str, *, expression: str | None = None,
                      code: str | None = None, headers: dict | None = None) -> JSONResponse:
    """An error as FHIR wants it: one error issue, its code from the HTTP status, the field as expression."""
    issue: dict[str, Any] = {"severity": "error" if status_code < 500 else "fatal",
                             "code": code or _ISSUE_CODES.get(status_code, "processing"),
                             "diagnostics": diagnostics}
    if expression:
        issue["expression"] = [expression]
    return fhir_response({"resourceType": "OperationOutcome", "issue": [issue]}, status_code, headers)


def _domain_error(error: DomainError) -> JSONResponse:
    message = error.translated(i18n.gettext)
    field_name = getattr(error, "field", None)
    headers = {"WWW-Authenticate": "Bearer"} if isinstance(error, NotAuthenticated) else None
    return operation_outcome(error.status_code, f"{field_name}: {message}" if field_name else message,
                             expression=field_name, headers=headers)


class FhirRoute(APIRoute):
    """Routes whose errors are OperationOutcomes. Dependencies (sign-in, permissions, the unit of work) run
    inside the handler, so their errors come here too, after the unit of work has rolled back."""

    def get_route_handler(self) -> Callable:
        handler = super().get_route_handler()

        async def fhir_handler(request: Request) -> Response:
            try:
                return await handler(request)
            except DomainError as error:
                if error.status_code in (401, 403, 429):
                    await record_refusal(request, error, error.status_code)
                return _domain_error(error)
            except StarletteHTTPException as error:
                return operation_outcome(error.status_code, str(error.detail),
                                         headers=getattr(error, "headers", None))
            except Exception as error:
                answer = database_error(error)
                if answer is not None:
                    log.warning("database refused %s %s: %s", request.method, request.url.path, error)
                    return _domain_error(answer)
                log.exception("unhandled error on %s %s", request.method, request.url.path)
                return operation_outcome(500, i18n.gettext(
                    "Something went wrong on our side. The error has been logged."), code="exception")

        return fhir_handler


router = APIRouter(prefix="/fhir/r4", tags=["fhir"], route_class=FhirRoute)
Lookup = Annotated[Principal, Depends(require(Permission.cards_lookup, scope=(Scope.desk_lookup, Scope.own_facility)))]


def _documented(description: str) -> dict:
    """An OpenAPI response of a FHIR resource (its schema is the FHIR specification's)."""
    return {"description": description, "content": {FHIR_JSON: {"schema": {"type": "object"}}}}


_ERRORS = {status: _documented("OperationOutcome") for status in (400, 401, 403, 404, 415)}


def today() -> date:
    return clock.today()


def _instant(moment: datetime) -> str:
    if moment.tzinfo is None:  # SQLite gives naive datetimes back; they are UTC
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).replace(microsecond=0).isoformat()


def _coding(system: str, code: str, display: str | None = None) -> dict:
    coding = {"system": system, "code": code}
    if display:
        coding["display"] = display
    return coding


def _insurer() -> dict:
    return {"type": "Organization", "identifier": {"system": INSURER_SYSTEM, "value": "VSS"},
            "display": i18n.gettext(INSURER_NAME)}


def _facility_reference(code: str, name: str | None) -> dict:
    reference = {"type": "Organization", "identifier": {"system": FACILITY_SYSTEM, "value": code}}
    if name:
        reference["display"] = name
    return reference


def _pct(ratio: float) -> int | float:
    """A ratio as a percentage: 0.95 -> 95, 0.955 -> 95.5."""
    value = round(float(ratio) * 100, 2)
    return int(value) if value == int(value) else value


def _percent(ratio: float) -> dict:
    """An ``allowed[x]`` for a percentage: unsignedInt when whole, else a string."""
    value = _pct(ratio)
    return {"allowedUnsignedInt": value} if isinstance(value, int) else {"allowedString": f"{value}%"}


# --- capability statement ------------------------------------------------------------------------------------

@router.get("/metadata", response_model=None, responses={200: _documented("CapabilityStatement")},
            dependencies=[Public])
def metadata(request: Request) -> Response:
    """The CapabilityStatement of this FHIR R4 endpoint (no sign-in needed)."""
    return fhir_response({
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": _instant(utcnow()),
        "publisher": "ansinh",
        "kind": "instance",
        "software": {"name": "ansinh", "version": __version__},
        "implementation": {"description": "ansinh: health insurance cards (eligibility at the facility desk) "
                                          "and the pre-check of medical claims",
                           "url": str(request.base_url).rstrip("/") + router.prefix},
        "fhirVersion": FHIR_VERSION,
        "format": [FHIR_JSON, "json"],
        "rest": [{
            "mode": "server",
            "documentation": "Sign in with a bearer token from POST /api/v1/auth/token. Facility users need "
                             "an HI contract in force. Identify a patient by " + ", ".join(PATIENT_SYSTEMS) + ".",
            "security": {"cors": False, "description": "Bearer token (Authorization: Bearer ...)."},
            "resource": [
                {"type": "Coverage", "interaction": [{"code": "read"}],
                 "documentation": "One version of a health insurance card, by its id."},
                {"type": "CoverageEligibilityRequest", "interaction": [{"code": "create"}],
                 "documentation": "POST a CoverageEligibilityRequest (to the type or to $submit): the answer "
                                  "is a CoverageEligibilityResponse; the request is not stored.",
                 "operation": [{"name": "submit", "definition": SUBMIT_OPERATION}]},
                {"type": "Claim", "interaction": [{"code": "create"}],
                 "documentation": "POST a Claim (to the type or to $submit): the automatic appraisal runs on it and "
                                  "the answer is a ClaimResponse (item adjudications coded with the appraisal "
                                  "rules); the claim is not stored (a pre-check before the national claim file).",
                 "operation": [{"name": "submit", "definition": SUBMIT_OPERATION}]},
            ],
        }],
    })


# --- eligibility ---------------------------------------------------------------------------------------------

@dataclass
class EligibilityQuery:
    """What a CoverageEligibilityRequest asks: the lookup keys (and the FHIR path each came from), the day."""

    keys: dict[str, str]
    paths: dict[str, str]
    on: date | None
    purpose: list[str]
    request_reference: dict = field(default_factory=dict)
    #: The name and birth date of the patient (the lookup rule): ``full_name`` and/or ``date_of_birth``.
    identity: dict = field(default_factory=dict)


def _identifier(value: Any, path: str) -> tuple[str, str]:
    if not isinstance(value, dict):
        raise BadQuery(path, N_("An Identifier is an object with system and value; got {value}."),
                       value=repr(value))
    system, text = value.get("system"), value.get("value")
    if not isinstance(system, str) or not system:
        raise BadQuery(f"{path}.system", N_("Give the identifier system: one of {accepted}."),
                       accepted=", ".join(PATIENT_SYSTEMS))
    if not isinstance(text, str) or not text.strip():
        raise BadQuery(f"{path}.value", N_("Give the identifier value."))
    return system, text.strip()


def _reference(value: Any, path: str) -> dict:
    if not isinstance(value, dict):
        raise BadQuery(path, N_("A Reference is an object; got {value}."), value=repr(value))
    return value


def _serviced_date(value: Any) -> date:
    if not isinstance(value, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        raise BadQuery("servicedDate", N_("The day is a full date (YYYY-MM-DD); got {value}."),
                       value=repr(value))
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise BadQuery("servicedDate", N_("{value} is not a date."), value=value) from None


def parse_eligibility_request(raw: bytes, content_type: str | None) -> EligibilityQuery:
    """Read the keys of a CoverageEligibilityRequest (JSON); BadQuery naming the FHIR path when malformed."""
    media = (content_type or "").split(";")[0].strip().lower()
    if media not in ACCEPTED_MEDIA:
        raise UnsupportedMediaType(N_("Send the resource as {accepted}; got {value}."),
                                   accepted=" or ".join(sorted(ACCEPTED_MEDIA)), value=media or "nothing")
    try:
        resource = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise BadQuery("body", N_("The request body is not valid JSON.")) from None
    if not isinstance(resource, dict) or resource.get("resourceType") != "CoverageEligibilityRequest":
        found = resource.get("resourceType") if isinstance(resource, dict) else type(resource).__name__
        raise BadQuery("resourceType", N_("The body must be a CoverageEligibilityRequest; got {value}."),
                       value=repr(found))
    purpose = resource.get("purpose", ["validation"])
    if (not isinstance(purpose, list) or not purpose
            or any(not isinstance(p, str) or p not in PURPOSES for p in purpose)):
        raise BadQuery("purpose", N_("The purpose is a list of {accepted}; got {value}."),
                       accepted=", ".join(PURPOSES), value=json.dumps(purpose, ensure_ascii=False))
    keys: dict[str, str] = {}
    paths: dict[str, str] = {"on": "servicedDate"}
    identity: dict[str, Any] = {}
    if (patient := resource.get("patient")) is not None:
        patient = _reference(patient, "patient")
        contained = _contained_patient(resource, patient)
        identifier, path = patient.get("identifier"), "patient.identifier"
        if identifier is None and contained is not None:
            known = [i for i in contained.get("identifier") or [] if isinstance(i, dict)
                     and i.get("system") in PATIENT_SYSTEMS]
            identifier, path = (known[0] if known else None), "contained.Patient.identifier"
        if identifier is None and not (resource.get("insurance") and (contained or patient.get("display"))):
            raise BadQuery("patient.identifier",
                           N_("Identify the patient by an identifier with one of the systems {accepted}; "
                              "references are not resolved here."),
                           accepted=", ".join(PATIENT_SYSTEMS))
        if identifier is not None:  # else the card code of the insurance identifies the patient
            system, value = _identifier(identifier, path)
            if system not in PATIENT_SYSTEMS:
                raise BadQuery(f"{path}.system",
                               N_("Unknown identifier system {value}; use one of {accepted}."),
                               value=system, accepted=", ".join(PATIENT_SYSTEMS))
            keys[PATIENT_SYSTEMS[system]] = value
            paths[PATIENT_SYSTEMS[system]] = f"{path}.value"
        identity, identity_paths = _patient_identity(patient, contained)
        paths.update(identity_paths)
    insurance = resource.get("insurance", [])
    if not isinstance(insurance, list):
        raise BadQuery("insurance", N_("The insurance is a list; got {value}."), value=repr(insurance))
    for index, entry in enumerate(insurance):
        path = f"insurance[{index}].coverage"
        coverage = _reference(entry.get("coverage") if isinstance(entry, dict) else entry, path)
        if coverage.get("identifier") is None:
            continue  # a reference to a Coverage we do not know adds nothing to the lookup
        system, value = _identifier(coverage["identifier"], f"{path}.identifier")
        if system != HI_CARD_SYSTEM:
            raise BadQuery(f"{path}.identifier.system",
                           N_("A card is identified with system {accepted}; got {value}."),
                           accepted=HI_CARD_SYSTEM, value=system)
        if keys.get("card_code", value) != value:
            raise BadQuery(f"{path}.identifier.value", N_("Two different card codes in one request."))
        keys.setdefault("card_code", value)
        paths.setdefault("card_code", f"{path}.identifier.value")
    if not keys:
        raise BadQuery("patient.identifier", N_("Identify the patient by citizen ID, SI number or card code."))
    if resource.get("servicedPeriod") is not None and resource.get("servicedDate") is None:
        raise BadQuery("servicedPeriod", N_("Give the day of the lookup as servicedDate."))
    on = _serviced_date(resource["servicedDate"]) if resource.get("servicedDate") is not None else None
    request_reference: dict = {"type": "CoverageEligibilityRequest"}
    identifiers = resource.get("identifier")
    first = identifiers[0] if isinstance(identifiers, list) and identifiers else None
    if isinstance(first, dict) and isinstance(first.get("value"), str):
        request_reference["identifier"] = {key: first[key] for key in ("system", "value")
                                           if isinstance(first.get(key), str)}
    else:
        request_reference["display"] = f"CoverageEligibilityRequest/{resource['id']}" \
            if isinstance(resource.get("id"), str) else "CoverageEligibilityRequest"
    paths.setdefault("full_name", "contained.Patient.name")
    return EligibilityQuery(keys=keys, paths=paths, on=on, purpose=purpose, request_reference=request_reference,
                            identity=identity)


def _contained_patient(resource: dict, patient: dict) -> dict | None:
    """The contained Patient the request's ``patient`` refers to (``"reference": "#id"``), if any."""
    reference = patient.get("reference")
    if not isinstance(reference, str) or not reference.startswith("#"):
        return None
    for entry in resource.get("contained") or []:
        if isinstance(entry, dict) and entry.get("resourceType") == "Patient" and entry.get("id") == reference[1:]:
            return entry
    raise BadQuery("patient.reference", N_("No contained Patient {value} in the request."), value=reference)


def _patient_identity(patient: dict, contained: dict | None) -> tuple[dict, dict]:
    """The name and birth date of the patient as on their chip card (the lookup rule), from the contained Patient
    (``name[0].text``, else family and given names; ``birthDate``) or the reference's ``display``; with the FHIR
    path of each."""
    identity: dict[str, Any] = {}
    paths: dict[str, str] = {}
    if contained is not None:
        names = contained.get("name")
        first = names[0] if isinstance(names, list) and names and isinstance(names[0], dict) else {}
        given = first.get("given") if isinstance(first.get("given"), list) else []
        text = first.get("text") or " ".join(str(part) for part in [first.get("family") or "", *given] if part)
        if isinstance(text, str) and text.strip():
            identity["full_name"], paths["full_name"] = text, "contained.Patient.name"
        if (born := contained.get("birthDate")) is not None:
            if not isinstance(born, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", born):
                raise BadQuery("contained.Patient.birthDate", N_("The birth date is a full date (YYYY-MM-DD); "
                                                                 "got {value}."), value=repr(born))
            try:
                identity["date_of_birth"] = check_day(date.fromisoformat(born))
            except ValueError:
                raise BadQuery("contained.Patient.birthDate", N_("{value} is not a date in the accepted range."),
                               value=born) from None
            paths["date_of_birth"] = "contained.Patient.birthDate"
    if "full_name" not in identity and isinstance(patient.get("display"), str) and patient["display"].strip():
        identity["full_name"], paths["full_name"] = patient["display"], "patient.display"
    return identity, paths


def _patient(answer: dict, keys: dict[str, str]) -> tuple[dict, list[dict]]:
    """The response's patient reference, and the contained Patient (name and date of birth for the desk)."""
    if answer["person_id"] is None:
        key, value = next(iter(keys.items()))
        system = {v: k for k, v in PATIENT_SYSTEMS.items()}[key]
        return {"type": "Patient", "identifier": {"system": system, "value": value.strip().upper()}}, []
    patient: dict[str, Any] = {"resourceType": "Patient", "id": "patient",
                               "name": [{"text": answer["full_name"]}], "birthDate": answer["date_of_birth"]}
    if answer["sex"] in ("male", "female"):
        patient["gender"] = answer["sex"]
    identifiers = [{"system": system, "value": keys[key]}
                   for system, key in ((CITIZEN_ID_SYSTEM, "citizen_id"), (SI_NUMBER_SYSTEM, "si_number"))
                   if key in keys]
    if identifiers:
        patient["identifier"] = identifiers
    return {"reference": "#patient", "type": "Patient", "display": answer["full_name"]}, [patient]


def eligibility_response(query: EligibilityQuery, answer: dict, *, card_id: int | None,
                         facility_code: str | None) -> dict:
    """The CoverageEligibilityResponse for a lookup's answer (see ``service.lookup``)."""
    on = answer["on"]
    reason = answer["reason"]
    patient, contained = _patient(answer, query.keys)
    if card_id is not None:
        coverage = {"reference": f"Coverage/{card_id}", "type": "Coverage",
                    "identifier": {"system": HI_CARD_SYSTEM, "value": answer["card_code"]}}
    else:
        text = REASONS[reason] if reason in REASONS else REASONS["no_coverage"]
        coverage = {"type": "Coverage", "display": i18n.gettext(text)}
    insurance: dict[str, Any] = {"coverage": coverage, "inforce": bool(answer["covered"])}
    extensions = []
    if answer["registered_facility"]:
        extensions.append({"url": EXT_FACILITY, "valueReference": _facility_reference(
            answer["registered_facility"], answer["registered_facility_name"])})
    if answer["five_years_from"]:
        extensions.append({"url": EXT_FIVE_YEARS, "valueDate": answer["five_years_from"]})
    if reason:
        extensions.append({"url": EXT_REASON, "valueCodeableConcept": {
            "coding": [_coding(REASON_SYSTEM, reason, REASONS[reason])],
            "text": i18n.gettext(REASONS[reason])}})
    if extensions:
        insurance["extension"] = extensions
    if answer["valid_from"]:
        insurance["benefitPeriod"] = {"start": answer["valid_from"]} | (
            {"end": answer["valid_to"]} if answer["valid_to"] else {})
    if answer["benefit_level"] is not None:
        level, ratio = answer["benefit_level"], answer["benefit_percentage"]
        insurance["item"] = [{
            "extension": [{"url": EXT_BENEFIT_LEVEL, "valueInteger": level}],
            "category": {"coding": [_coding(f"{_HL7}/ex-benefitcategory", "30",
                                            "Health Benefit Plan Coverage")]},
            "name": i18n.gettext(N_("Benefit level {level}")).format(level=level),
            "description": i18n.gettext(N_("The fund pays {percentage}% of the covered cost of in-network "
                                           "care.")).format(percentage=_pct(ratio)),
            "network": {"coding": [_coding(f"{_HL7}/benefit-network", "in", "In Network")]},
            "benefit": [
                {"type": {"coding": [_coding(BENEFIT_TYPE_SYSTEM, "benefit-percentage", "Benefit percentage")]},
                 **_percent(ratio)},
                {"type": {"coding": [_coding(f"{_HL7}/benefit-type", "copay-percent",
                                             "Copayment Percent per service")]},
                 **_percent(1 - ratio)},
            ],
        }]
    if answer["covered"]:
        disposition = i18n.gettext(N_("Covered on {on}: card {code}, benefit level {level} "
                                      "({percentage}%).")).format(
            on=on, code=answer["card_code"], level=answer["benefit_level"],
            percentage=_pct(answer["benefit_percentage"]))
    else:
        disposition = i18n.gettext(N_("Not covered on {on}: {reason}")).format(
            on=on, reason=i18n.gettext(REASONS[reason]))
    response: dict[str, Any] = {"resourceType": "CoverageEligibilityResponse"}
    if contained:
        response["contained"] = contained
    response |= {
        "status": "active",
        "purpose": query.purpose,
        "patient": patient,
        "servicedDate": on,
        "created": _instant(utcnow()),
        "request": query.request_reference,
        "outcome": "complete",
        "disposition": disposition,
        "insurer": _insurer(),
        "insurance": [insurance],
    }
    if facility_code:
        response["requestor"] = _facility_reference(facility_code, None)
    return response


async def _raw_body(request: Request) -> bytes:
    return await request.body()


_SUBMIT = {"response_model": None, "responses": _ERRORS | {200: _documented("CoverageEligibilityResponse")},
           "openapi_extra": {"requestBody": {"required": True, "content": {
               FHIR_JSON: {"schema": {"type": "object"}}, "application/json": {"schema": {"type": "object"}}}}}}


@router.post("/CoverageEligibilityRequest", **_SUBMIT)
@router.post("/CoverageEligibilityRequest/$submit", **_SUBMIT)
async def coverage_eligibility(request: Request, session: DbSession, principal: Lookup,
                               raw: Annotated[bytes, Depends(_raw_body)]) -> Response:
    """Covered or not on ``servicedDate``: a CoverageEligibilityRequest in, a CoverageEligibilityResponse out
    (an unknown person is ``inforce: false`` with reason ``unknown_person``). Facility users need an HI contract
    in force. Logged and audited as ``/api/v1/cards/lookup``, on the same lane of threads (``desk_lane``)."""

    def look_up() -> Response:
        verify_csrf(request, request.headers.get(CSRF_HEADER))  # signed in with the cookie: as /api/ calls
        facility = facilities.ensure_may_look_up(session, principal, today())
        query = parse_eligibility_request(raw, request.headers.get("content-type"))
        try:
            answer = service.lookup(session, principal, on=query.on or today(), facility_code=facility,
                                    **query.keys, **query.identity)
        except ValidationFailed as error:
            raise BadQuery(query.paths.get(error.field, error.field), error.template, **error.params) from None
        return fhir_response(eligibility_response(query, answer, card_id=answer["card_id"],
                                                  facility_code=facility))

    return await to_thread.run_sync(look_up, limiter=desk_lane(request))


# --- coverage ------------------------------------------------------------------------------------------------

def coverage_status(card: HICard) -> str:
    """FHIR Coverage.status (active | cancelled | draft | entered-in-error) of a card version.

    The status is that of the record, not of the dates (``period`` says when the card is valid): a current,
    active card is ``active`` even once expired. A version superseded by a newer one is ``cancelled``: it was
    valid, is no longer the card in force, and ``entered-in-error`` would say it never was. A suspended card is
    ``cancelled`` too: FHIR has no "suspended", and it must not be honoured until reinstated (which issues a new,
    active version); the ``card-status`` extension says which of the two it is."""
    if card.superseded_at is not None or card.status == CardStatus.suspended:
        return "cancelled"
    return "active"


def coverage_resource(card: HICard, person: Person, facility_name: str | None) -> dict:
    """The FHIR Coverage of one card version."""
    beneficiary_id = ({"system": CITIZEN_ID_SYSTEM, "value": person.citizen_id} if person.citizen_id
                      else {"system": SI_NUMBER_SYSTEM, "value": person.si_number})
    status = getattr(card.status, "value", card.status)
    card_status = "superseded" if card.superseded_at is not None else status
    extensions: list[dict] = [{"url": EXT_CARD_STATUS, "valueCodeableConcept": {
        "coding": [_coding(CARD_STATUS_SYSTEM, card_status)],
        **({"text": card.status_reason} if card.status_reason else {})}}]
    if card.registered_facility:
        extensions.append({"url": EXT_FACILITY,
                           "valueReference": _facility_reference(card.registered_facility, facility_name)})
    if card.five_years_from:
        extensions.append({"url": EXT_FIVE_YEARS, "valueDate": card.five_years_from.isoformat()})
    digit = card.benefit_digit
    percentage = None
    try:
        percentage = get_parameters()[service.BENEFIT_LEVEL].at(card.valid_from, digit)
    except DomainError:  # a card older than the parameters: the plan says the level only
        pass
    plan_name = i18n.gettext(N_("Benefit level {level}")).format(level=digit)
    if percentage is not None:
        plan_name += f" ({_pct(percentage)}%)"
    return {
        "resourceType": "Coverage",
        "id": str(card.id),
        "meta": {"lastUpdated": _instant(card.superseded_at or card.issued_at)},
        "extension": extensions,
        "identifier": [{"use": "official", "system": HI_CARD_SYSTEM, "value": card.card_code}],
        "status": coverage_status(card),
        "type": {"coding": [_coding("http://terminology.hl7.org/CodeSystem/v3-ActCode", "PUBLICPOL",
                                    "public healthcare")]},
        "subscriberId": person.si_number,
        "beneficiary": {"type": "Patient", "identifier": beneficiary_id, "display": person.full_name},
        "relationship": {"coding": [_coding(f"{_HL7}/subscriber-relationship", "self", "Self")]},
        "period": {"start": card.valid_from.isoformat()} | (
            {"end": card.valid_until.isoformat()} if card.valid_until else {}),
        "payor": [_insurer()],
        "class": [
            {"type": {"coding": [_coding(f"{_HL7}/coverage-class", "group", "Group")]}, "value": card.hi_group},
            {"type": {"coding": [_coding(f"{_HL7}/coverage-class", "plan", "Plan")]}, "value": digit,
             "name": plan_name},
        ],
    }


@router.get("/Coverage/{card_id}", response_model=None, responses=_ERRORS | {200: _documented("Coverage")})
def read_coverage(card_id: str, session: DbSession, principal: Lookup) -> Response:
    """One version of a card as a FHIR Coverage. Agency staff read the cards of people in their scope; a facility
    with an HI contract in force reads the cards of the patients it has looked up (with a matching name or birth
    date) or claimed for, and no other (404, as for a card that does not exist). The read is audited."""
    facility = facilities.ensure_may_look_up(session, principal, today())
    card = session.get(HICard, int(card_id)) if card_id.isdigit() and len(card_id) <= 18 else None
    if card is None:
        raise NotFound("Coverage {id} does not exist.", id=card_id)
    if facility is None:
        person = registry.get_person(session, principal, card.person_id)  # scope (403), and the read is audited
    else:
        if not service.facility_knows_person(session, facility, card.person_id):
            raise NotFound("Coverage {id} does not exist.", id=card_id)
        person = session.get(Person, card.person_id)
        record_read(session, "person", person.id, org_unit_id=person.org_unit_id,
                    person_ref=person.citizen_id or person.si_number,
                    details={"via": "fhir_coverage", "card_id": card.id, "facility_code": facility})
    facility_name = session.scalar(select(MedicalFacility.name)
                                   .where(MedicalFacility.code == card.registered_facility)) \
        if card.registered_facility else None
    return fhir_response(coverage_resource(card, person, facility_name))


@router.api_route("/{rest:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"], include_in_schema=False,
                  dependencies=[Public])
def not_supported(rest: str) -> Response:
    """Anything else under /fhir/r4: an OperationOutcome rather than the API's error body."""
    return operation_outcome(404, i18n.gettext(N_("This FHIR interaction is not supported: {path}.")).format(
        path=rest), code="not-supported")
