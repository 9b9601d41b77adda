"""The navigation frame and the dashboard tiles that every domain plugs into.

A domain registers its menu entries and dashboard tiles at import time of its ``web`` module::

    register_nav_item(NavItem("registry", N_("People"), "/registry/people", Permission.registry_read, 20))
    register_tile(DashboardTile("people", N_("People registered"), count_people, Permission.registry_read))

Labels are English msgids, translated when the page is drawn.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.orm import Session

from ansinh.auth.permissions import Permission, Principal
from ansinh.i18n import N_


@dataclass(frozen=True)
class NavGroup:
    """A domain's section of the side navigation, collapsible, shown when the role may use one of its items."""

    key: str
    label: str
    order: int


#: The sections of the side navigation, one per domain (the domains still to come already have their place).
NAV_GROUPS: dict[str, NavGroup] = {g.key: g for g in (
    NavGroup("registry", N_("Registry"), 100),
    NavGroup("participation", N_("Participation"), 200),
    NavGroup("collection", N_("Collection"), 300),
    NavGroup("cards", N_("Health insurance cards"), 400),
    NavGroup("claims", N_("Medical claims"), 500),
    NavGroup("benefits", N_("Benefits"), 600),
    NavGroup("outreach", N_("Outreach"), 650),
    NavGroup("targets", N_("Plans and indicators"), 700),
    NavGroup("reference", N_("Reference"), 800),
    NavGroup("administration", N_("Administration"), 900),
)}


@dataclass(frozen=True)
class NavItem:
    key: str
    label: str
    href: str
    permission: Permission | None = None
    order: int = 100
    agency_only: bool = False
    #: The section it belongs to (a key of :data:`NAV_GROUPS`); ``None`` for the home page, above every section.
    group: str | None = None
    #: Shown only to holders of one of these roles (``None``: to every role with the permission).
    roles: frozenset | None = None


@dataclass(frozen=True)
class DashboardTile:
    key: str
    label: str
    compute: Callable[[Session, Principal], int | str]
    permission: Permission | None = None
    href: str | None = None
    order: int = 100


_NAV: dict[str, NavItem] = {}
_TILES: dict[str, DashboardTile] = {}


def register_nav_item(item: NavItem) -> None:
    if item.group is not None and item.group not in NAV_GROUPS:
        raise ValueError(f"navigation item {item.key!r}: unknown group {item.group!r}")
    _NAV[item.key] = item


def register_tile(tile: DashboardTile) -> None:
    _TILES[tile.key] = tile


def _visible(permission: Permission | None, principal: Principal) -> bool:
    return permission is None or principal.has(permission)


def nav_for(principal: Principal | None) -> list[NavItem]:
    if principal is None:
        return []
    return sorted(
        (i for i in _NAV.values() if _visible(i.permission, principal) and (principal.is_agency_staff or not i.agency_only)
         and (i.roles is None or bool(i.roles & principal.roles))),
        key=lambda i: (i.order, i.key),
    )


def grouped_nav(items: list[NavItem]) -> list[tuple[NavGroup | None, list[NavItem]]]:
    """The items by section, sections in their order; the items without a section (home) first."""
    sections: dict[str | None, list[NavItem]] = {}
    for item in items:
        sections.setdefault(item.group, []).append(item)
    keys = sorted(sections, key=lambda k: -1 if k is None else NAV_GROUPS[k].order)
    return [(NAV_GROUPS.get(k) if k else None, sections[k]) for k in keys]


def current_item(items: list[NavItem], path: str) -> NavItem | None:
    """The navigation item a path belongs to: the one whose address is the path or its longest prefix; else the
    first item of the same folder (a bill's page, ``/collection/bills/7``, belongs to the collection section)."""
    best = None
    for item in items:
        href = item.href.split("?")[0]
        if path == href or (href != "/" and path.startswith(href.rstrip("/") + "/")):
            if best is None or len(href) > len(best.href.split("?")[0]):
                best = item
    if best is not None:
        return best
    folder = path.rstrip("/").rsplit("/", 1)[0]
    while folder:
        for item in items:  # in navigation order
            if item.href.startswith(folder + "/"):
                return item
        folder = folder.rsplit("/", 1)[0]
    return None


def breadcrumbs(items: list[NavItem], path: str) -> list[tuple[str, str | None]]:
    """Home › section › the list the page belongs to: (label msgid, address) pairs, translated when drawn."""
    crumbs: list[tuple[str, str | None]] = [(N_("Home"), "/")]
    item = current_item(items, path)
    if item is None or item.href == "/":
        return crumbs
    if item.group:
        crumbs.append((NAV_GROUPS[item.group].label, None))
    crumbs.append((item.label, item.href))
    return crumbs


def tiles_for(principal: Principal) -> list[DashboardTile]:
    return sorted((t for t in _TILES.values() if _visible(t.permission, principal)), key=lambda t: (t.order, t.key))
