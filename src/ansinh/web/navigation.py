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


@dataclass(frozen=True)
class NavItem:
    key: str
    label: str
    href: str
    permission: Permission | None = None
    order: int = 100
    agency_only: bool = False


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
    _NAV[item.key] = item


def register_tile(tile: DashboardTile) -> None:
    _TILES[tile.key] = tile


def _visible(permission: Permission | None, principal: Principal) -> bool:
    return permission is None or principal.has(permission)


def nav_for(principal: Principal | None) -> list[NavItem]:
    if principal is None:
        return []
    return sorted(
        (i for i in _NAV.values() if _visible(i.permission, principal) and (principal.is_agency_staff or not i.agency_only)),
        key=lambda i: (i.order, i.key),
    )


def tiles_for(principal: Principal) -> list[DashboardTile]:
    return sorted((t for t in _TILES.values() if _visible(t.permission, principal)), key=lambda t: (t.order, t.key))
