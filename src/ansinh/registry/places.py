"""Places: the administrative units of both structures, with their official codes, and the mapping between them.

- Structure "2008": 63 provinces → districts → communes, valid until 2025-06-30 (``valid_to`` 2025-07-01,
  exclusive).
- Structure "2025": 34 provinces → communes, from 2025-07-01.
- ``place_mapping``: 2008 commune → 2025 commune(s) (a commune split in several has several rows); 2008
  district → 2025 province; 2008 province → 2025 province; an island district without communes (Côn Đảo,
  Bạch Long Vĩ, Cồn Cỏ, Hoàng Sa, Lý Sơn) → its 2025 special zone (đặc khu) as well.

The data come from ``data/places.json.gz``, built by ``scripts/build_places.py`` (see ``data/README.md`` for
the sources and their licences). Functions flush, never commit: the caller owns the transaction.
"""

from __future__ import annotations

import gzip
import json
from collections import defaultdict
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import case, func, insert, select
from sqlalchemy.orm import Session, aliased

from ansinh.errors import NotFound, ValidationFailed
from ansinh.registry.identifiers import search_key
from ansinh.registry.models import Place, PlaceLevel, PlaceMapping, Structure

DATA_FILE = Path(__file__).parent / "data" / "places.json.gz"
CHUNK = 2000
OLD, NEW = Structure.before_2025, Structure.from_2025
# What is loaded, in order (parents before children): (structure, level, parent level).
_LEVELS = (
    (OLD, PlaceLevel.province, None),
    (OLD, PlaceLevel.district, PlaceLevel.province),
    (OLD, PlaceLevel.commune, PlaceLevel.district),
    (NEW, PlaceLevel.province, None),
    (NEW, PlaceLevel.commune, PlaceLevel.province),
)
# Mapping sections of the data file: name → (old level, new level).
_MAPPINGS = {
    "province": (PlaceLevel.province, PlaceLevel.province),
    "district": (PlaceLevel.district, PlaceLevel.province),
    "district_commune": (PlaceLevel.district, PlaceLevel.commune),
    "commune": (PlaceLevel.commune, PlaceLevel.commune),
}


@lru_cache(maxsize=1)
def place_data() -> dict[str, Any]:
    """The data file, parsed (once per process)."""
    return json.loads(gzip.decompress(DATA_FILE.read_bytes()))


def _structure(value: Structure | str, field: str = "structure") -> Structure:
    try:
        return Structure(getattr(value, "value", value))
    except ValueError:
        raise ValidationFailed(field, "{value} is not a structure of places (2008 or 2025).", value=value) from None


def _level(value: PlaceLevel | str, field: str = "level") -> PlaceLevel:
    try:
        return PlaceLevel(getattr(value, "value", value))
    except ValueError:
        raise ValidationFailed(field, "{value} is not a level of places (province, district or commune).",
                               value=value) from None


def _expected_counts(data: dict[str, Any]) -> dict[tuple[Structure, PlaceLevel], int]:
    return {(structure, level): len(data[structure.value][level.value]) for structure, level, _ in _LEVELS}


def _counts(session: Session) -> dict[tuple[Structure, PlaceLevel], int]:
    rows = session.execute(select(Place.structure, Place.level, func.count()).group_by(Place.structure, Place.level))
    return {(structure, level): count for structure, level, count in rows}


def _ids(session: Session, structure: Structure, level: PlaceLevel) -> dict[str, int]:
    return dict(session.execute(select(Place.code, Place.id).where(Place.structure == structure, Place.level == level)).all())


def load_places(session: Session) -> dict[str, Any]:
    """Load the places and the mapping of the data file; idempotent.

    When the table already holds as many places per structure and level, and as many mapping rows, as the
    file, nothing is done. Otherwise the missing places (by structure, level and code) and the missing mapping
    rows are inserted, set-based and in chunks; places already there are left as they are.
    Returns ``{"places": inserted, "mappings": inserted, "skipped": bool}``."""
    data = place_data()
    expected_mappings = sum(len(rows) for rows in data["mapping"].values())
    existing_mappings = session.scalar(select(func.count()).select_from(PlaceMapping)) or 0
    if _counts(session) == _expected_counts(data) and existing_mappings == expected_mappings:
        return {"places": 0, "mappings": 0, "skipped": True}

    inserted_places = 0
    ids: dict[tuple[Structure, PlaceLevel], dict[str, int]] = {}
    for structure, level, parent_level in _LEVELS:
        section = data[structure.value]
        valid_from = date.fromisoformat(section["valid_from"])
        valid_to = date.fromisoformat(section["valid_to"]) if section["valid_to"] else None
        existing = _ids(session, structure, level)
        parents = ids.get((structure, parent_level), {}) if parent_level else {}
        province_of_parent = ({code: code for code in parents} if parent_level is PlaceLevel.province
                              else {d[0]: d[2] for d in section.get("district", [])})
        rows = []
        for entry in section[level.value]:
            code, name = entry[0], entry[1]
            if code in existing:
                continue
            parent = entry[2] if len(entry) > 2 else None
            rows.append({
                "structure": structure, "level": level, "code": code, "name": name, "name_search": search_key(name),
                "parent_id": parents[parent] if parent else None,
                "province_code": province_of_parent[parent] if parent else code,
                "valid_from": valid_from, "valid_to": valid_to,
            })
        for start in range(0, len(rows), CHUNK):
            session.execute(insert(Place), rows[start:start + CHUNK])
        inserted_places += len(rows)
        ids[(structure, level)] = _ids(session, structure, level) if rows else existing

    existing_pairs = {(old, new) for old, new in session.execute(select(PlaceMapping.old_place_id, PlaceMapping.new_place_id))}
    mapping_rows = []
    for section, (old_level, new_level) in _MAPPINGS.items():
        old_ids, new_ids = ids[(OLD, old_level)], ids[(NEW, new_level)]
        for old_code, new_code in data["mapping"].get(section, []):
            pair = (old_ids[old_code], new_ids[new_code])
            if pair not in existing_pairs:
                existing_pairs.add(pair)
                mapping_rows.append({"old_place_id": pair[0], "new_place_id": pair[1]})
    for start in range(0, len(mapping_rows), CHUNK):
        session.execute(insert(PlaceMapping), mapping_rows[start:start + CHUNK])
    session.flush()
    return {"places": inserted_places, "mappings": len(mapping_rows), "skipped": False}


# --- lookups ---------------------------------------------------------------------------------


def get_place(session: Session, place_id: int) -> Place:
    place = session.get(Place, place_id)
    if place is None:
        raise NotFound("No place with id {place_id}.", place_id=place_id)
    return place


def find_place(session: Session, structure: Structure | str, level: PlaceLevel | str, code: str) -> Place | None:
    """The place of that structure and level with that official code, or None."""
    return session.scalars(select(Place).where(Place.structure == _structure(structure), Place.level == _level(level),
                                               Place.code == str(code).strip())).first()


def provinces(session: Session, structure: Structure | str) -> list[Place]:
    """The provinces of a structure, by code."""
    return list(session.scalars(select(Place).where(Place.structure == _structure(structure),
                                                    Place.level == PlaceLevel.province).order_by(Place.code)))


def province_names(session: Session, structure: Structure | str = Structure.from_2025) -> dict[str, str]:
    """Province names by code, for showing places by name, never by code: the one source of a province's name.
    Before the places are loaded into the database (``ansinh db upgrade``), the names of the data file they are
    loaded from (the same names)."""
    return {p.code: p.name for p in provinces(session, structure)} or dict(data_file_province_names(structure))


@lru_cache(maxsize=2)
def data_file_province_names(structure: Structure | str = Structure.from_2025) -> tuple[tuple[str, str], ...]:
    """The provinces of a structure in the places data file, (code, name) by code."""
    try:
        entries = place_data()[_structure(structure).value]["province"]
    except (OSError, KeyError, ValueError):  # pragma: no cover - the data file ships with the package
        return ()
    return tuple(sorted((str(entry[0]), str(entry[1])) for entry in entries))


def search_places(session: Session, text: str, structure: Structure | str | None = None,
                  level: PlaceLevel | str | None = None, limit: int = 20) -> list[Place]:
    """Places whose name contains ``text``, accents and case ignored (``ba dinh`` finds ``Phường Ba Đình``).
    Names ending with the text first, then the 2025 structure before 2008, provinces before communes."""
    wanted = search_key(text or "")
    if not wanted:
        raise ValidationFailed("text", "Type a part of the name of the place.")
    if not 1 <= limit <= 500:
        raise ValidationFailed("limit", "The limit is between 1 and {maximum}.", maximum=500)
    escaped = wanted.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    query = select(Place).where(Place.name_search.like(f"%{escaped}%", escape="\\"))
    if structure is not None:
        query = query.where(Place.structure == _structure(structure))
    if level is not None:
        query = query.where(Place.level == _level(level))
    level_order = case({PlaceLevel.province.name: 0, PlaceLevel.district.name: 1}, value=Place.level, else_=2)
    ends = case((Place.name_search.like(f"%{escaped}", escape="\\"), 0), else_=1)
    query = query.order_by(ends, Place.structure.desc(), level_order, func.length(Place.name_search), Place.code)
    return list(session.scalars(query.limit(limit)))


# --- across the two structures ---------------------------------------------------------------

_Old, _New = aliased(Place, name="old_place"), aliased(Place, name="new_place")


def _single(codes: set[str]) -> str | None:
    return next(iter(codes)) if len(codes) == 1 else None


def provinces_of(session: Session, place_id: int) -> tuple[str | None, str | None]:
    """The (2008, 2025) province codes of a place of either structure. Through the mapping the other
    structure's province is given only when it is a single one (a 2025 commune made of old communes of two
    old provinces gives None for 2008)."""
    place = get_place(session, place_id)
    if place.structure is OLD:
        codes = set(session.scalars(select(_New.province_code).join(PlaceMapping, PlaceMapping.new_place_id == _New.id)
                                    .where(PlaceMapping.old_place_id == place.id)))
        if not codes:  # an old commune the mapping does not know: its old province's
            codes = set(session.scalars(
                select(_New.province_code).join(PlaceMapping, PlaceMapping.new_place_id == _New.id)
                .join(_Old, PlaceMapping.old_place_id == _Old.id)
                .where(_Old.structure == OLD, _Old.level == PlaceLevel.province, _Old.code == place.province_code)))
        return place.province_code, _single(codes)
    codes = set(session.scalars(select(_Old.province_code).join(PlaceMapping, PlaceMapping.old_place_id == _Old.id)
                                .where(PlaceMapping.new_place_id == place.id)))
    return _single(codes), place.province_code


def map_to_2025(session: Session, place_id: int) -> list[Place]:
    """The 2025 places a 2008 place became: for a province its province(s), for a commune its commune(s), for
    a district the communes its communes went to (or its special zone)."""
    place = get_place(session, place_id)
    if place.structure is not OLD:
        raise ValidationFailed("place_id", "{name} is not a place of the 2008 structure.", name=place.name)
    target_level = PlaceLevel.province if place.level is PlaceLevel.province else PlaceLevel.commune
    sources = select(Place.id).where(Place.parent_id == place.id) if place.level is PlaceLevel.district else None
    condition = PlaceMapping.old_place_id == place.id
    if sources is not None:
        condition = condition | PlaceMapping.old_place_id.in_(sources)
    query = (select(_New).join(PlaceMapping, PlaceMapping.new_place_id == _New.id)
             .where(condition, _New.level == target_level).distinct().order_by(_New.code))
    return list(session.scalars(query))


def map_to_2008(session: Session, place_id: int) -> list[Place]:
    """The 2008 places a 2025 place was made of: for a province the old provinces, for a commune the old
    communes (or the island district it was)."""
    place = get_place(session, place_id)
    if place.structure is not NEW:
        raise ValidationFailed("place_id", "{name} is not a place of the 2025 structure.", name=place.name)
    levels = [PlaceLevel.province] if place.level is PlaceLevel.province else [PlaceLevel.commune, PlaceLevel.district]
    query = (select(_Old).join(PlaceMapping, PlaceMapping.old_place_id == _Old.id)
             .where(PlaceMapping.new_place_id == place.id, _Old.level.in_(levels)).order_by(_Old.level, _Old.code))
    return list(session.scalars(query))


def province_mapping(session: Session) -> dict[str, set[str]]:
    """2008 province code → the 2025 province codes it went to (for reports across the change)."""
    rows = session.execute(select(_Old.code, _New.code)
                           .join(PlaceMapping, PlaceMapping.old_place_id == _Old.id)
                           .join(_New, PlaceMapping.new_place_id == _New.id)
                           .where(_Old.level == PlaceLevel.province, _New.level == PlaceLevel.province))
    result: dict[str, set[str]] = defaultdict(set)
    for old_code, new_code in rows:
        result[old_code].add(new_code)
    return dict(result)


def place_full_name(session: Session, place_id: int | None) -> str | None:
    """"Commune, district, province" of a place (for addresses on pages and documents)."""
    if place_id is None:
        return None
    place = session.get(Place, place_id)
    if place is None:
        return None
    names = [place.name]
    parent_id = place.parent_id
    while parent_id is not None and len(names) < 3:  # commune, district, province
        parent = session.get(Place, parent_id)
        if parent is None:
            break
        names.append(parent.name)
        parent_id = parent.parent_id
    return ", ".join(names)


def population_by_province(session: Session, *, year: int,
                           structure: Structure | str = Structure.from_2025) -> dict[str, tuple[int, int, int]]:
    """The population figures loaded per province, of ``year`` or the latest year before it (each province its own
    latest): ``{province: (population, working_age_population, year)}``."""
    from ansinh.registry.models import PopulationFigure

    chosen = _structure(structure)
    latest = (select(PopulationFigure.province_code, func.max(PopulationFigure.year).label("year"))
              .where(PopulationFigure.structure == chosen, PopulationFigure.year <= year)
              .group_by(PopulationFigure.province_code).subquery())
    rows = session.execute(select(PopulationFigure.province_code, PopulationFigure.population,
                                  PopulationFigure.working_age_population, PopulationFigure.year)
                           .join(latest, (latest.c.province_code == PopulationFigure.province_code)
                                 & (latest.c.year == PopulationFigure.year))
                           .where(PopulationFigure.structure == chosen))
    return {code: (int(population), int(working), int(figure_year)) for code, population, working, figure_year in rows}
