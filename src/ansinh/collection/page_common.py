"""Small helpers shared by the collection pages: payers named as a reader knows them, translated messages."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from ansinh.i18n import gettext
from ansinh.registry.models import Employer, Household, Person


def payer_names(session: Session, keys: Iterable[str | None]) -> dict[str, str]:
    """Payer keys (``E:12``, ``P:3``, ``H:5``, ``S:01:TE``) → the name a reader recognises: the employer's
    name and tax code, the person's name, the household's code, the state budget group."""
    keys = list(keys)
    wanted: dict[str, set[int]] = {"E": set(), "P": set(), "H": set()}
    for key in keys:
        if key and key[:2] in ("E:", "P:", "H:") and key[2:].isdigit():
            wanted[key[0]].add(int(key[2:]))
    names: dict[str, str] = {}
    if wanted["E"]:
        for id_, name, tax in session.execute(select(Employer.id, Employer.name, Employer.tax_code)
                                              .where(Employer.id.in_(sorted(wanted["E"])))):
            names[f"E:{id_}"] = f"{name} ({tax})"
    if wanted["P"]:
        for id_, name, si in session.execute(select(Person.id, Person.full_name, Person.si_number)
                                             .where(Person.id.in_(sorted(wanted["P"])))):
            names[f"P:{id_}"] = f"{name} ({si})"
    if wanted["H"]:
        for id_, code in session.execute(select(Household.id, Household.code)
                                         .where(Household.id.in_(sorted(wanted["H"])))):
            names[f"H:{id_}"] = gettext("Household {code}").format(code=code)
    sponsors = sorted({int(key[2:]) for key in keys if key and key.startswith("D:") and key[2:].isdigit()})
    if sponsors:
        from ansinh.outreach.models import Sponsor

        for id_, name in session.execute(select(Sponsor.id, Sponsor.name).where(Sponsor.id.in_(sponsors))):
            names[f"D:{id_}"] = gettext("Sponsor {name}").format(name=name)
    for key in keys:
        if key and key.startswith("S:") and key not in names:
            parts = key.split(":")
            names[key] = gettext("State budget, group {group}").format(group=parts[-1])
    return names


def payer_link(key: str | None) -> str | None:
    """The page of a payer's account, when there is one (employers)."""
    if key and key.startswith("E:") and key[2:].isdigit():
        return f"/collection/employers/{key[2:]}"
    return None


def translated(template: str, params: dict | None) -> str:
    """A stored English message template with its parameters, in the reader's language."""
    from ansinh.formatting import message_params, stored_params

    text = gettext(template)
    try:
        return text.format(**message_params(stored_params(params))) if params else text
    except (KeyError, IndexError, ValueError):
        return text
