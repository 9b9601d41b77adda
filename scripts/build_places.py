"""Build ansinh's data set of administrative units: ``src/ansinh/registry/data/places.json.gz``.

Sources (all with the official codes of the General Statistics Office, GSO, except the converter):

- the 2008 structure (63 provinces → 696 districts → communes, as of 2025-01-04): the data file of
  ``vietnam-provinces==0.6.0`` (the last release before the 2025 reform), downloaded with
  ``pip download --no-deps`` into a temporary folder (or ``--old-wheel PATH``); never installed;
- the 2025 structure (34 provinces → 3,321 communes): the installed ``vietnam-provinces`` (2025.10.1);
- the mapping old commune → new commune(s): ``vietnam-address-converter`` (``mapping.rows``), which has
  codes of its own; its rows are joined to the official codes by normalised names (province + district +
  commune on the old side, province + commune on the new side).

Run ``python scripts/build_places.py`` (``--help`` for options). It prints how many mapping rows resolved
on both sides and lists those that did not. The output is byte-for-byte reproducible (sorted, gzip
without a timestamp).

Licences: vietnam-provinces is GPL-3.0-or-later (its data: names and codes published by GSO);
vietnam-address-converter is Apache-2.0 (its mapping from the official conversion tables of 2025).
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import json
import re
import subprocess
import sys
import tempfile
import unicodedata
import zipfile
from collections import Counter, defaultdict
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUTPUT = ROOT / "src" / "ansinh" / "registry" / "data" / "places.json.gz"
OLD_PACKAGE = "vietnam-provinces==0.6.0"
OLD_DATA_MEMBER = "vietnam_provinces/data/nested-divisions.json"
EXPECTED = {"vietnam-provinces": "2025.10.1", "vietnam-address-converter": "1.0.5"}
FORMAT_VERSION = 1

# Type prefixes, longest first so that "thi xa" wins over "xa".
PREFIXES = ("thanh pho", "thi tran", "thi xa", "huyen dao", "dac khu", "phuong", "quan", "huyen", "tinh", "xa")
_PREFIX = re.compile(r"^(" + "|".join(p.replace(" ", r"\s+") for p in PREFIXES) + r")\s+(?=\S)")
_TONES = {"\u0300": "2", "\u0301": "1", "\u0303": "4", "\u0309": "3", "\u0323": "5"}  # huyền sắc ngã hỏi nặng
_ROMAN = {"i": "1", "ii": "2", "iii": "3", "iv": "4", "v": "5", "vi": "6", "vii": "7", "viii": "8", "ix": "9", "x": "10"}


def plain(text: str) -> str:
    """NFC, accents removed (đ → d), lower case, single spaces."""
    text = unicodedata.normalize("NFC", text).replace("đ", "d").replace("Đ", "D")
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return " ".join(ascii_text.lower().split())


def tones(text: str) -> str:
    """The tone of each syllable as a digit (0 none, 1 sắc, 2 huyền, 3 hỏi, 4 ngã, 5 nặng), whatever the tone
    mark's placement (``Hoà`` and ``Hòa`` → ``2``; ``Sa Pa`` → ``00``, ``Sa Pả`` → ``03``)."""
    words = unicodedata.normalize("NFD", unicodedata.normalize("NFC", text)).split()
    return "".join(next((_TONES[c] for c in word if c in _TONES), "0") for word in words)


def split_type(name: str) -> tuple[str, str]:
    """``Thị Trấn Nông Trường Liên Sơn`` → (``thi tran``, ``nt lien son``), on the plain form."""
    text = plain(name)
    match = _PREFIX.match(text)
    kind = " ".join(match.group(1).split()) if match else ""
    return kind, text[match.end():] if match else text


def _clean(text: str) -> str:
    text = re.sub(r"\bnong truong\b|\bn\.\s*t\.?(?=\s)", "nt", text)
    text = re.sub(r"['’`]\s*", "", text)  # K' Dang, K'Dang, KDang
    text = re.sub(r"[^a-z0-9 ]+", " ", text)
    words = text.split()
    if words:  # Tam Xuân II, Phường IV
        words[-1] = _ROMAN.get(words[-1], words[-1])
    words = [w.lstrip("0") or "0" if w.isdigit() else w for w in words]  # Phường 01
    text = " ".join(words)
    return re.sub(r"\bqui\b", "quy", text)


def key(name: str) -> str:
    """The plain matching key of a name: type prefix stripped, no accents, lower case, no punctuation,
    numbers without leading zeros and roman numerals as digits (``Phường 01``, ``Phường I`` → ``1``)."""
    return _clean(split_type(name)[1])


_TELEX = str.maketrans({"â": "aa", "ă": "aw", "ê": "ee", "ô": "oo", "ơ": "ow", "ư": "uw", "đ": "dd",
                        "Â": "AA", "Ă": "AW", "Ê": "EE", "Ô": "OO", "Ơ": "OW", "Ư": "UW", "Đ": "DD"})


def letters(name: str) -> str:
    """The name without tones but with its letters: ``Ba Tơ`` → ``ba tow``, ``Ba Tô`` → ``ba too`` (Telex)."""
    no_tones = "".join(c for c in unicodedata.normalize("NFD", unicodedata.normalize("NFC", name)) if c not in _TONES)
    return unicodedata.normalize("NFC", no_tones).translate(_TELEX)


def keys(name: str) -> list[tuple[str, ...]]:
    """The keys of a commune's name, strictest first: type + letters + tones, letters + tones, type + plain
    name, plain name, plain name without spaces (``EaBar`` = ``Ea Bar``)."""
    kind, _ = split_type(name)
    nfc = " ".join(unicodedata.normalize("NFC", name).split())
    bare = " ".join(nfc.split()[len(kind.split()):]) if kind else nfc
    exact, plain_key = _clean(plain(letters(bare))), key(name)
    tone = tones(bare)
    return [("tt", kind, exact, tone), ("t", exact, tone), ("k", kind, plain_key), ("p", plain_key),
            ("s", plain_key.replace(" ", ""))]


# --- sources ---------------------------------------------------------------------------------


def old_wheel(path: str | None) -> Path:
    if path:
        return Path(path)
    folder = Path(tempfile.mkdtemp(prefix="vp_old_"))
    subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:",
                    "-d", str(folder), OLD_PACKAGE], check=True)
    return next(folder.glob("vietnam_provinces-*.whl"))


def read_old(wheel: Path) -> tuple[list, str]:
    raw = wheel.read_bytes()
    with zipfile.ZipFile(io.BytesIO(raw)) as archive:
        data = json.loads(archive.read(OLD_DATA_MEMBER))
    return data, hashlib.sha256(raw).hexdigest()


def read_new() -> list:
    import vietnam_provinces

    return json.loads(vietnam_provinces.NESTED_DIVISIONS_JSON_PATH.read_text(encoding="utf-8"))


def check_versions() -> dict[str, str]:
    versions = {name: metadata.version(name) for name in EXPECTED}
    for name, wanted in EXPECTED.items():
        if versions[name] != wanted:
            print(f"warning: {name} {versions[name]} installed, this script was checked with {wanted}", file=sys.stderr)
    return versions


# --- build -----------------------------------------------------------------------------------


def build(old_data: list, new_data: list, converter: dict) -> tuple[dict, dict]:
    def name(text: str) -> str:
        return " ".join(unicodedata.normalize("NFC", text).split())

    # 2008 structure, official codes. Each commune is indexed under every key of its name, within its
    # district and within its province.
    old_provinces, old_districts, old_communes = [], [], []
    old_index: dict[tuple, list[str]] = defaultdict(list)
    old_district_index: dict[tuple[str, str], list[str]] = defaultdict(list)
    old_commune_province: dict[str, str] = {}
    for province in old_data:
        pcode = f"{province['code']:02d}"
        pkey = key(province["name"])
        old_provinces.append([pcode, name(province["name"])])
        for district in province["districts"]:
            dcode = f"{district['code']:03d}"
            dkey = key(district["name"])
            old_districts.append([dcode, name(district["name"]), pcode])
            old_district_index[(pkey, dkey)].append(dcode)
            for ward in district["wards"]:
                wcode = f"{ward['code']:05d}"
                old_communes.append([wcode, name(ward["name"]), dcode])
                old_commune_province[wcode] = pcode
                for k in keys(ward["name"]):
                    old_index[(pkey, dkey, *k)].append(wcode)
                    old_index[(pkey, "*", *k)].append(wcode)

    # 2025 structure, official codes.
    new_provinces, new_communes = [], []
    new_index: dict[tuple, list[str]] = defaultdict(list)
    new_commune_province: dict[str, str] = {}
    for province in new_data:
        pcode = f"{province['code']:02d}"
        pkey = key(province["name"])
        pname = name(province["name"])
        if province["division_type"] == "tỉnh" and not pname.startswith("Tỉnh "):
            pname = f"Tỉnh {pname}"  # as the 2008 names are written ("Tỉnh Tuyên Quang")
        new_provinces.append([pcode, pname])
        for ward in province["wards"]:
            wcode = f"{ward['code']:05d}"
            new_communes.append([wcode, name(ward["name"]), pcode])
            new_commune_province[wcode] = pcode
            for k in keys(ward["name"]):
                new_index[(pkey, *k)].append(wcode)

    how: Counter = Counter()
    ambiguous: list[str] = []

    def first_unique(candidates: list[tuple], label: str, side: str) -> str | None:
        for n, candidate in enumerate(candidates):
            codes = sorted(set(candidates_index[side].get(candidate, ())))
            if len(codes) == 1:
                how[f"{side}: {levels[side][n]}"] += 1
                return codes[0]
            if len(codes) > 1:
                ambiguous.append(f"{side} {label}: {codes}")
                return None
        return None

    candidates_index = {"old": old_index, "new": new_index}
    levels = {
        "old": [f"{scope}, {what}" for scope in ("in its district", "anywhere in its province")
                for what in ("type + name + tones", "name + tones", "type + name", "name", "name without spaces")],
        "new": [f"in its province, {what}" for what in ("type + name + tones", "name + tones", "type + name", "name",
                                                          "name without spaces")],
    }

    def resolve_old(row: dict) -> str | None:
        pkey, dkey = key(row["province_name"]), key(row["district_name"])
        ks = keys(row["ward_name"])
        label = f"{row['ward_name']}, {row['district_name']}, {row['province_name']}"
        return first_unique([(pkey, dkey, *k) for k in ks] + [(pkey, "*", *k) for k in ks], label, "old")

    def resolve_new(row: dict) -> str | None:
        label = f"{row['ward_name']}, {row['province_name']}"
        return first_unique([(key(row["province_name"]), *k) for k in keys(row["ward_name"])], label, "new")

    rows = converter["mapping"]["rows"]
    resolved: set[tuple[str, str]] = set()
    district_to_commune: set[tuple[str, str]] = set()  # island districts without communes → special zone
    unmatched_old: dict[str, list[str]] = {}
    unmatched_new: dict[str, list[str]] = {}
    both = 0
    for row in rows:
        old, new = row["old"], row["new"]
        new_code = resolve_new(new)
        if not (old.get("ward_name") or "").strip():  # a district without communes (Côn Đảo, Bạch Long Vĩ...)
            codes = old_district_index.get((key(old["province_name"]), key(old["district_name"])), [])
            old_code = codes[0] if len(codes) == 1 else None
            if old_code and new_code:
                district_to_commune.add((old_code, new_code))
                how["old: district without communes"] += 1
                both += 1
                continue
        else:
            old_code = resolve_old(old)
        if old_code is None:
            label = f"{old['ward_name']}, {old['district_name']}, {old['province_name']}"
            unmatched_old.setdefault(label, []).append(f"{new['ward_name']}, {new['province_name']}")
        if new_code is None:
            unmatched_new.setdefault(f"{new['ward_name']}, {new['province_name']}", []).append(old["ward_name"])
        if old_code and new_code:
            both += 1
            resolved.add((old_code, new_code))

    commune_mapping = sorted(resolved)
    district_of = {c[0]: c[2] for c in old_communes}
    province_of_district = {d[0]: d[2] for d in old_districts}
    province_pairs = sorted({(old_commune_province[o], new_commune_province[n]) for o, n in commune_mapping}
                            | {(province_of_district[d], new_commune_province[n]) for d, n in district_to_commune})
    district_pairs = sorted({(district_of[o], new_commune_province[n]) for o, n in commune_mapping}
                            | {(d, new_commune_province[n]) for d, n in district_to_commune})
    mapped_old = {o for o, _ in commune_mapping}
    mapped_new = {n for _, n in commune_mapping} | {n for _, n in district_to_commune}
    split: dict[str, list[str]] = defaultdict(list)
    for o, n in province_pairs:
        split[o].append(n)
    stats = {
        "mapping_rows": len(rows),
        "resolved_both_sides": both,
        "resolved_share": round(both / len(rows), 5),
        "how_resolved": dict(sorted(how.items())),
        "unmatched_old": unmatched_old,
        "unmatched_new": unmatched_new,
        "ambiguous": sorted(set(ambiguous)),
        "old_communes_without_mapping": sorted(c[0] for c in old_communes if c[0] not in mapped_old),
        "new_communes_without_mapping": sorted(c[0] for c in new_communes if c[0] not in mapped_new),
        "old_provinces_split": {o: n for o, n in split.items() if len(n) > 1},
    }
    data = {
        "format": FORMAT_VERSION,
        "2008": {"valid_from": "2008-08-01", "valid_to": "2025-07-01",
                 "province": sorted(old_provinces), "district": sorted(old_districts), "commune": sorted(old_communes)},
        "2025": {"valid_from": "2025-07-01", "valid_to": None,
                 "province": sorted(new_provinces), "commune": sorted(new_communes)},
        "mapping": {"commune": [list(p) for p in commune_mapping],
                    "district_commune": [list(p) for p in sorted(district_to_commune)],
                    "district": [list(p) for p in district_pairs],
                    "province": [list(p) for p in province_pairs]},
    }
    return data, stats


def report(stats: dict, data: dict, names: dict[str, str]) -> None:
    rows, both = stats["mapping_rows"], stats["resolved_both_sides"]
    print(f"2008: {len(data['2008']['province'])} provinces, {len(data['2008']['district'])} districts, "
          f"{len(data['2008']['commune'])} communes")
    print(f"2025: {len(data['2025']['province'])} provinces, {len(data['2025']['commune'])} communes")
    print(f"mapping rows of the converter: {rows}; resolved on both sides: {both} ({100 * both / rows:.2f}%)")
    for how, count in stats["how_resolved"].items():
        print(f"  {how}: {count}")
    print(f"distinct pairs old commune → new commune: {len(data['mapping']['commune'])}; "
          f"old province → new province: {len(data['mapping']['province'])}")
    print(f"old communes (official) without a mapping: {len(stats['old_communes_without_mapping'])}")
    for code in stats["old_communes_without_mapping"]:
        print(f"  {code} {names[code]}")
    print(f"new communes (official) without a mapping: {len(stats['new_communes_without_mapping'])}")
    for code in stats["new_communes_without_mapping"]:
        print(f"  {code} {names['n' + code]}")
    print(f"converter rows whose OLD commune did not match ({len(stats['unmatched_old'])} communes):")
    for label, targets in sorted(stats["unmatched_old"].items()):
        print(f"  {label}  →  {'; '.join(targets)}")
    print(f"converter rows whose NEW commune did not match ({len(stats['unmatched_new'])} communes):")
    for label, sources in sorted(stats["unmatched_new"].items()):
        print(f"  {label}  ←  {len(sources)} rows")
    if stats["ambiguous"]:
        print(f"ambiguous names ({len(stats['ambiguous'])}):")
        for line in stats["ambiguous"]:
            print(f"  {line}")
    if stats["old_provinces_split"]:
        print(f"old provinces mapped to several new provinces: {stats['old_provinces_split']}")


def write(data: dict, path: Path) -> str:
    payload = json.dumps(data, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode("utf-8")
    path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buffer, mtime=0, compresslevel=9) as out:
        out.write(payload)
    path.write_bytes(buffer.getvalue())
    return hashlib.sha256(payload).hexdigest()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--old-wheel", help=f"the wheel of {OLD_PACKAGE} (default: pip download it)")
    parser.add_argument("--output", default=str(OUTPUT))
    parser.add_argument("--min-share", type=float, default=0.99, help="fail below this share of resolved rows")
    args = parser.parse_args(argv)

    from vietnam_address_converter.data import DEFAULT_DATA

    versions = check_versions()
    wheel = old_wheel(args.old_wheel)
    old_data, wheel_sha = read_old(wheel)
    data, stats = build(old_data, read_new(), DEFAULT_DATA)
    data["about"] = ("Administrative units of Viet Nam for ansinh: the 2008 structure (until 2025-06-30) and the "
                     "2025 structure, official GSO codes, and the mapping old → new. Built by scripts/build_places.py; "
                     "sources and licences below and in data/README.md.")
    data["sources"] = {
        "2008": f"{OLD_PACKAGE} ({wheel.name}, sha256 {wheel_sha}), data of GSO as of 2025-01-04; GPL-3.0-or-later",
        "2025": f"vietnam-provinces=={versions['vietnam-provinces']}, data of GSO; GPL-3.0-or-later",
        "mapping": f"vietnam-address-converter=={versions['vietnam-address-converter']} "
                   f"(mapping {DEFAULT_DATA['mapping']['meta'].get('version')}), joined by names; Apache-2.0",
    }
    names = {c[0]: f"{c[1]} (district {c[2]})" for c in data["2008"]["commune"]}
    names.update({"n" + c[0]: f"{c[1]} (province {c[2]})" for c in data["2025"]["commune"]})
    report(stats, data, names)
    checksum = write(data, Path(args.output))
    size = Path(args.output).stat().st_size
    print(f"wrote {args.output} ({size:,} bytes, content sha256 {checksum[:16]})")
    if stats["resolved_share"] < args.min_share:
        print(f"error: only {stats['resolved_share']:.2%} of the mapping rows resolved", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
