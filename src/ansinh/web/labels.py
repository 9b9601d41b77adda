"""Display names for the codes that appear on pages (org levels, roles, audit actions).

Keys are the stored values; labels are English msgids translated when shown (``|label`` filter).
A domain adds its own codes with :func:`register_labels`.
"""

from __future__ import annotations

from ansinh.i18n import N_, gettext

LABELS: dict[str, str] = {
    # org unit levels
    "national": N_("National"),
    "province": N_("Province"),
    "district": N_("District / local office"),
    # roles
    "administrator": N_("Administrator"),
    "national_officer": N_("National officer"),
    "provincial_officer": N_("Provincial officer"),
    "district_officer": N_("District officer"),
    "employer": N_("Employer"),
    "citizen": N_("Citizen"),
    "facility": N_("Medical facility"),
    "supervisor": N_("Supervisor"),
    # audit actions
    "create": N_("Created"),
    "update": N_("Changed"),
    "delete": N_("Deleted"),
    "read": N_("Viewed"),
    "login": N_("Signed in"),
    "login_failed": N_("Failed sign-in"),
    "logout": N_("Signed out"),
    "token_issued": N_("API token issued"),
    "bulk_insert": N_("Bulk insert"),
}


def register_labels(labels: dict[str, str]) -> None:
    LABELS.update(labels)


def label(value: object) -> str:
    key = getattr(value, "value", value)
    return gettext(LABELS.get(str(key), str(key)))
