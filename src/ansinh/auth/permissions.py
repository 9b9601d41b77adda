"""Roles, permissions and the org-unit scope that every route checks.

A :class:`Principal` is the signed-in user as the rest of the system sees them: their org unit
(with its materialised path) and the permissions their roles grant. Routes declare what they need
with :func:`ansinh.auth.deps.require`; queries over records that belong to an org unit are
narrowed with :func:`org_scope`; a single record is checked with :func:`ensure_in_scope`.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from sqlalchemy import ColumnElement, select

from ansinh.auth.models import OrgUnit, Role
from ansinh.errors import PermissionDenied
from ansinh.i18n import N_


class Permission(str, enum.Enum):
    dashboard_view = "dashboard.view"
    org_read = "org.read"
    org_manage = "org.manage"
    users_read = "users.read"
    users_manage = "users.manage"
    audit_read = "audit.read"
    reports_view = "reports.view"
    registry_read = "registry.read"
    registry_manage = "registry.manage"
    participation_read = "participation.read"
    participation_manage = "participation.manage"
    declarations_submit = "declarations.submit"  # employers: their own workers
    imports_run = "imports.run"
    cards_lookup = "cards.lookup"  # medical facilities at the desk, and agency staff
    cards_manage = "cards.manage"  # issue, suspend, reinstate cards; births; primary-care registration
    facilities_manage = "facilities.manage"  # medical facilities and their HI contracts
    claims_catalogues = "claims.catalogues.read"  # the Ministry's catalogues of the claim file (agency staff)
    claims_prices_read = "claims.prices.read"  # facilities' approved prices (a facility user: its own)
    claims_prices_manage = "claims.prices.manage"  # import a facility's price list (its province's officers)
    claims_budgets_read = "claims.budgets.read"  # yearly HI medical-cost budgets of provinces and facilities
    claims_budgets_manage = "claims.budgets.manage"  # set them (a province's total: national staff)
    claims_appraise = "claims.appraise"  # run the automatic appraisal of medical claims
    claims_read = "claims.read"  # claim files received and their reports: a facility its own, staff their scope's
    claims_submit = "claims.submit"  # send national claim files: a facility its own, staff for their facilities
    claims_review = "claims.review"  # the appraisers' review queue and spot checks; override a finding
    claims_settle = "claims.settle"  # settle a facility's month and record advances (its province's officers)
    claims_monitor = "claims.monitor"  # facilities' costs against peers, budget use (a facility user: its own costs)
    targets_read = "targets.read"  # plans, indicators against them, province reports and rankings
    targets_manage = "targets.manage"  # assign plans (national staff: every province; a province: its local offices)
    targets_issue = "targets.issue"  # issue a province report for a period (its figures frozen)
    benefits_read = "benefits.read"  # benefit claims and payments: staff their scope's, a citizen their own, an
    # employer the cases it filed
    benefits_file = "benefits.file"  # file a claim (counter, post; a citizen their own; an employer its 01B-HSB list)
    benefits_assess = "benefits.assess"  # assess a claim from the records, mark it incomplete, withdraw it
    benefits_decide = "benefits.decide"  # grant or refuse (a numbered decision), and appeals
    benefits_pay = "benefits.pay"  # the pension payroll, payment files to banks, their results, overpayments
    accounts_reset = "accounts.reset"  # issue a citizen a one-time password reset code at the office
    # Later domains extend this list (collection.manage, ...).


#: What each permission lets a user do, as the refusal tells it: never the internal code (``registry.read``).
PERMISSION_REFUSALS: dict[Permission, str] = {
    Permission.dashboard_view: N_("Your roles do not allow you to see the dashboard."),
    Permission.org_read: N_("Your roles do not allow you to see the org units."),
    Permission.org_manage: N_("Your roles do not allow you to create or change org units."),
    Permission.users_read: N_("Your roles do not allow you to see the user accounts."),
    Permission.users_manage: N_("Your roles do not allow you to create or change user accounts."),
    Permission.audit_read: N_("Your roles do not allow you to read the audit log."),
    Permission.reports_view: N_("Your roles do not allow you to see the reports."),
    Permission.registry_read: N_("Your roles do not allow you to read the registry of people and employers."),
    Permission.registry_manage: N_("Your roles do not allow you to change the registry of people and employers."),
    Permission.participation_read: N_("Your roles do not allow you to see who is insured."),
    Permission.participation_manage: N_("Your roles do not allow you to manage participation and contributions."),
    Permission.declarations_submit: N_("Your roles do not allow you to submit declarations of workers."),
    Permission.imports_run: N_("Your roles do not allow you to import files."),
    Permission.cards_lookup: N_("Your roles do not allow you to look up health insurance cards."),
    Permission.cards_manage: N_("Your roles do not allow you to issue, suspend or reinstate health insurance cards."),
    Permission.facilities_manage: N_("Your roles do not allow you to manage medical facilities and their contracts."),
    Permission.claims_catalogues: N_("Your roles do not allow you to see the catalogues of medical claims."),
    Permission.claims_prices_read: N_("Your roles do not allow you to see the price lists of medical facilities."),
    Permission.claims_prices_manage: N_("Your roles do not allow you to import the price lists of medical "
                                        "facilities."),
    Permission.claims_budgets_read: N_("Your roles do not allow you to see the budgets of medical costs."),
    Permission.claims_budgets_manage: N_("Your roles do not allow you to set the budgets of medical costs."),
    Permission.claims_appraise: N_("Your roles do not allow you to appraise medical claims."),
    Permission.claims_read: N_("Your roles do not allow you to see the claim files received."),
    Permission.claims_submit: N_("Your roles do not allow you to send claim files."),
    Permission.claims_review: N_("Your roles do not allow you to review appraised claims or override findings."),
    Permission.claims_settle: N_("Your roles do not allow you to settle medical claims or record advances."),
    Permission.claims_monitor: N_("Your roles do not allow you to see the cost monitoring of medical facilities."),
    Permission.targets_read: N_("Your roles do not allow you to see the plans and the indicators."),
    Permission.targets_manage: N_("Your roles do not allow you to assign plans."),
    Permission.targets_issue: N_("Your roles do not allow you to issue reports."),
    Permission.benefits_read: N_("Your roles do not allow you to see benefit claims and payments."),
    Permission.benefits_file: N_("Your roles do not allow you to file benefit claims."),
    Permission.benefits_assess: N_("Your roles do not allow you to assess benefit claims."),
    Permission.benefits_decide: N_("Your roles do not allow you to decide benefit claims."),
    Permission.benefits_pay: N_("Your roles do not allow you to pay benefits or run the payroll."),
    Permission.accounts_reset: N_("Your roles do not allow you to issue password reset codes."),
}
#: For a permission added later without its sentence.
GENERIC_REFUSAL = N_("Your roles do not allow you to do this.")


def permission_denied(permission: Permission) -> PermissionDenied:
    """The refusal for a missing permission, in words a user understands ("Your roles do not allow you to read the
    audit log."). The permission's code stays in the error's parameters, for the audit of refusals only."""
    return PermissionDenied(PERMISSION_REFUSALS.get(permission, GENERIC_REFUSAL), permission=permission.value)


_OFFICER = {
    Permission.dashboard_view,
    Permission.org_read,
    Permission.users_read,
    Permission.reports_view,
    Permission.registry_read,
    Permission.registry_manage,
    Permission.participation_read,
    Permission.participation_manage,
    Permission.declarations_submit,
    Permission.imports_run,
    Permission.cards_lookup,
    Permission.cards_manage,
    Permission.facilities_manage,
    Permission.claims_catalogues,
    Permission.claims_prices_read,
    Permission.claims_budgets_read,
    Permission.claims_appraise,
    Permission.claims_read,
    Permission.claims_submit,
    Permission.targets_read,
    Permission.benefits_read,
    Permission.benefits_file,
    Permission.benefits_assess,
}

ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.administrator: frozenset(Permission),
    # national staff set the provinces' yearly budgets; a province's officers import its facilities' price lists
    # and set their facilities' indicative budgets
    # review the appraisal (the appraisers work in the provincial and national offices), settle, and monitor
    # facilities' costs and the budgets' use (not district offices)
    # national staff assign the provinces' plans; a province's officers its local offices' and issue its reports
    Role.national_officer: frozenset(_OFFICER | {Permission.claims_budgets_manage, Permission.claims_review,
                                                 Permission.claims_settle, Permission.claims_monitor,
                                                 Permission.targets_manage, Permission.targets_issue,
                                                 Permission.benefits_decide, Permission.benefits_pay}),
    Role.provincial_officer: frozenset(_OFFICER | {Permission.claims_prices_manage, Permission.claims_budgets_manage,
                                                   Permission.claims_review, Permission.claims_settle,
                                                   Permission.claims_monitor, Permission.targets_manage,
                                                   Permission.targets_issue, Permission.benefits_decide,
                                                   Permission.benefits_pay, Permission.accounts_reset}),
    Role.district_officer: frozenset(_OFFICER | {Permission.accounts_reset}),
    Role.supervisor: frozenset({Permission.dashboard_view, Permission.reports_view, Permission.org_read,
                                Permission.participation_read, Permission.claims_catalogues,
                                Permission.claims_budgets_read, Permission.targets_read}),
    Role.employer: frozenset({Permission.dashboard_view, Permission.declarations_submit, Permission.benefits_read,
                              Permission.benefits_file}),
    Role.citizen: frozenset({Permission.dashboard_view, Permission.benefits_read, Permission.benefits_file}),
    Role.facility: frozenset({Permission.dashboard_view, Permission.cards_lookup, Permission.claims_prices_read,
                              Permission.claims_read, Permission.claims_submit, Permission.claims_monitor}),
}

class Scope(str, enum.Enum):
    """On which records a route acts for its caller. Every route declares its scopes (``require(..., scope=...)`` or
    :func:`ansinh.auth.deps.public`); a test enumerates the routes of the app and fails on one that declares none,
    and another calls every route that takes a record id as users of another province, employer, person and
    facility, who must get 403 or 404 and change nothing."""

    #: Anyone, signed in or not; answers no record data (sign-in, health, language, documentation).
    public = "public"
    #: The caller's own account: their user, session, token and language.
    own_account = "own_account"
    #: Reference data that belongs to no one: legal parameters, calculators, places, import templates.
    reference = "reference"
    #: Records of the caller's org unit and the units under it (agency staff; national staff: the country).
    org_subtree = "org_subtree"
    #: Records of the employer the caller (role ``employer``) acts for.
    own_employer = "own_employer"
    #: Records of the person the caller (role ``citizen``) is (and, for the household head, the household).
    own_person = "own_person"
    #: Records of the medical facility the caller (role ``facility``) acts for.
    own_facility = "own_facility"
    #: A person's card at a facility's desk, found only by their key **and** the name or date of birth printed on
    #: their chip card (the lookup rule: no enumeration of people).
    desk_lookup = "desk_lookup"


#: Roles that act for an outside party (employer, citizen, facility) rather than for the agency.
EXTERNAL_ROLES = frozenset({Role.employer, Role.citizen, Role.facility})


@dataclass(frozen=True)
class Principal:
    user_id: int
    username: str
    full_name: str
    org_unit_id: int
    org_unit_code: str
    org_unit_name: str
    org_unit_path: str
    org_unit_level: str
    place_code: str
    roles: frozenset[Role]
    subject_ref: str | None = None
    locale: str = "vi"
    permissions: frozenset[Permission] = field(default_factory=frozenset)

    def has(self, permission: Permission) -> bool:
        return permission in self.permissions

    def covers_path(self, org_unit_path: str) -> bool:
        """True when an org unit with this path is in the principal's subtree."""
        return org_unit_path.startswith(self.org_unit_path)

    @property
    def is_agency_staff(self) -> bool:
        return not (self.roles <= EXTERNAL_ROLES)


def permissions_for(roles: frozenset[Role] | set[Role]) -> frozenset[Permission]:
    granted: set[Permission] = set()
    for role in roles:
        granted |= ROLE_PERMISSIONS[role]
    return frozenset(granted)


def subtree_ids(principal: Principal):
    """A subquery of the ids of every org unit in the principal's subtree."""
    return select(OrgUnit.id).where(OrgUnit.path.startswith(principal.org_unit_path, autoescape=True))


def org_scope(principal: Principal, org_unit_id_column) -> ColumnElement[bool]:
    """A WHERE clause keeping rows whose org unit lies in the principal's subtree.

    Use it on every query over records that belong to an org unit:
    ``select(Person).where(org_scope(principal, Person.org_unit_id))``.
    """
    return org_unit_id_column.in_(subtree_ids(principal))


def ensure_in_scope(principal: Principal, org_unit: OrgUnit) -> None:
    """Raise :class:`PermissionDenied` unless the org unit lies in the principal's subtree."""
    if not principal.covers_path(org_unit.path):
        raise PermissionDenied("This record belongs to another org unit, outside your scope.")


def ensure_permission(principal: Principal, permission: Permission) -> None:
    if not principal.has(permission):
        raise permission_denied(permission)
