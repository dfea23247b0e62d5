"""Entry point of the embedded demo: generate every demo file into a folder.

What belongs here: `generate_demo`, which builds the geography, statistics and postcodes
from a `DemoSpec` and a seed, writes each published format (via `writers`), and describes
the result in `MANIFEST.md` and `sources.yaml` (file kinds for the loaders). The same spec
and seed always give byte-identical files on the same platform and library versions.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Final

import numpy as np
import pandas as pd
import yaml

from profiles.demo import DemoSpec, load_demo_spec, writers
from profiles.demo.geography import DemoGeography, build_geography, place_postcodes
from profiles.demo.simd import DemoStatistics, build_statistics
from profiles.provenance import sha256_file

DEFAULT_SEED: Final = 20260
DZ_BOUNDARIES: Final = "dz2011_demo_wgs84.geojson"
WARD_BOUNDARIES: Final = "wards2022_demo_wgs84.geojson"
STATSGOV_FILE: Final = (
    "statsgovscot_download_population-estimates-current-geographic-boundaries_2018_allgeogs.csv"
)
# Random streams, one per stage, so changing one stage leaves the others' draws alone.
_STREAMS: Final = {"geography": 1, "statistics": 2, "postcodes": 3}


@dataclass(frozen=True)
class DemoFile:
    kind: str
    vintage: str
    path: str  # relative to the output folder
    rows: int
    sha256: str


@dataclass(frozen=True)
class DemoManifest:
    """What `generate_demo` wrote: the folder, the seed, and each file with its kind."""

    out_dir: Path
    seed: int
    title: str
    files: tuple[DemoFile, ...]
    councils: int
    wards: int
    intermediate_zones: int
    data_zones: int
    postcodes: int

    def path_of(self, kind: str, vintage: str | None = None) -> Path:
        """The (first) file of a kind, e.g. `path_of("simd_withinds", "2016")`."""
        for entry in self.files:
            if entry.kind == kind and (vintage is None or entry.vintage == vintage):
                return self.out_dir / entry.path
        raise KeyError(f"no demo file of kind {kind!r} vintage {vintage!r}")


def _rng(seed: int, stream: str) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([seed, _STREAMS[stream]]))


def _live_postcodes_per_dz(
    geo: DemoGeography, stats: DemoStatistics, spec: DemoSpec, rng: np.random.Generator
) -> np.ndarray:
    """Live units per data zone, proportional to its residents (at least 3; eight
    business-only units in a zone without residents)."""
    people = stats.population.by_year[2021].to_numpy()
    mean = people[people > 0].mean()
    expected = spec.postcodes.per_dz * people / mean
    cap = int(0.8 * spec.postcodes.sector_capacity)
    live = np.clip(rng.poisson(expected), 3, cap)
    return np.where(geo.dzs["zero_population"].to_numpy(), 8, live).astype(np.int64)


def generate_demo(
    out_dir: Path, *, spec: DemoSpec | None = None, seed: int = DEFAULT_SEED
) -> DemoManifest:
    """Write the demo's files into `out_dir` (created if needed; files are overwritten).

    `spec` defaults to `data/config/demo.yaml`; `seed` drives every random draw (the spec's
    own `seed` is the value the command line passes by default).
    """
    spec = spec or load_demo_spec()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    geo = build_geography(spec, _rng(seed, "geography"))
    stats = build_statistics(geo, spec, _rng(seed, "statistics"))
    postcode_rng = _rng(seed, "postcodes")
    live = _live_postcodes_per_dz(geo, stats, spec, postcode_rng)
    postcodes = place_postcodes(geo, live, spec.postcodes, postcode_rng)

    tables: list[tuple[str, str, str, Callable[[Path], int]]] = [
        (
            "simd_withinds",
            "2020v2",
            "simd2020v2_withinds.csv",
            lambda path: writers.write_simd2020(path, geo, stats),
        ),
        (
            "simd_withinds",
            "2016",
            "simd2016_withinds.csv",
            lambda path: writers.write_simd2016(path, geo, stats),
        ),
        (
            "dz_lookup",
            "DZ2011",
            "Datazone2011lookup.csv",
            lambda path: writers.write_dz_lookup(path, geo),
        ),
        (
            "population_total",
            "mid-2021",
            "population_mid2021_dz2011_total.csv",
            lambda path: writers.write_population_total(path, geo, stats),
        ),
        (
            "population_sya",
            "mid-2020",
            "population_mid2020_dz2011_sex_single_year_age.csv",
            lambda path: writers.write_population_sya(path, geo, stats),
        ),
        (
            "statsgov_download",
            "mid-2018",
            STATSGOV_FILE,
            lambda path: writers.write_statsgov_download(
                path, geo, stats, generated_at=spec.generated_at
            ),
        ),
        (
            "boundaries_dz",
            "DZ2011",
            DZ_BOUNDARIES,
            lambda path: writers.write_boundaries(
                path,
                geo.dzs["dz_name"],
                geo.dzs["dz_code"],
                geo.dz_polygons,
                name_field="dz11_name",
                code_field="dz11_code",
            ),
        ),
        (
            "boundaries_ward",
            "2022",
            WARD_BOUNDARIES,
            lambda path: writers.write_boundaries(
                path,
                geo.wards["ward_name"],
                geo.wards["ward_code"],
                geo.ward_polygons,
                name_field="ward22_name",
                code_field="ward22_code",
            ),
        ),
    ]
    for area, units in postcodes.groupby("area", sort=False):
        tables.append(
            (
                "postcodes_nspl",
                "NOV_2021",
                f"NSPL_NOV_2021_UK_{area}.csv",
                partial(
                    writers.write_nspl, geo=geo, stats=stats, postcodes=units.reset_index(drop=True)
                ),
            )
        )
    written = []
    for kind, vintage, name, write in tables:
        path = out_dir / name
        path.unlink(missing_ok=True)  # GDAL will not overwrite a GeoJSON file
        written.append((kind, vintage, name, write(path)))

    files = tuple(
        DemoFile(kind, vintage, name, rows, sha256_file(out_dir / name))
        for kind, vintage, name, rows in written
    )
    manifest = DemoManifest(
        out_dir=out_dir,
        seed=seed,
        title=spec.title,
        files=files,
        councils=len(geo.councils),
        wards=len(geo.wards),
        intermediate_zones=len(geo.izs),
        data_zones=geo.n_dz,
        postcodes=len(postcodes),
    )
    _write_sources_yaml(out_dir / "sources.yaml", manifest)
    _write_manifest_md(out_dir / "MANIFEST.md", manifest, spec, geo, stats, postcodes)
    return manifest


def _simd_rows(manifest: DemoManifest) -> int:
    rows = {entry.rows for entry in manifest.files if entry.kind == "simd_withinds"}
    if len(rows) != 1:
        raise ValueError(f"demo SIMD files disagree on their number of data zones: {rows}")
    return int(rows.pop())


def _write_sources_yaml(path: Path, manifest: DemoManifest) -> None:
    """Pin every file's kind and vintage, in the `sources.yaml` layout the folder scanner
    (`profiles.sources.discover`) honours: `files: {path: {kind, vintage, primary}}`."""
    document = {
        "generator": "profiles.demo.generate",
        "title": manifest.title,
        "seed": manifest.seed,
        # The demo's SIMD ranks its own data zones, not Scotland's 6,976.
        "settings": {"simd_n_zones": _simd_rows(manifest)},
        "files": {
            entry.path: {
                "kind": entry.kind,
                "vintage": entry.vintage,
                "primary": True,
                "rows": entry.rows,
                "sha256": entry.sha256,
            }
            for entry in manifest.files
        },
    }
    header = "# Files of the embedded demo and their kinds (written by profiles.demo.generate).\n"
    path.write_text(header + yaml.safe_dump(document, sort_keys=False), encoding="utf-8")


def _council_summary(geo: DemoGeography, stats: DemoStatistics) -> pd.DataFrame:
    values = stats.vintages["2020v2"].values
    frame = geo.dzs[["council_code"]].assign(
        people=stats.population.by_year[2018].to_numpy(),
        q1=(values["quintile"] == 1).to_numpy(),
        ur8=geo.dzs["ur8"],
    )
    summary = frame.groupby("council_code", sort=False).agg(
        data_zones=("q1", "size"), people=("people", "sum"), q1=("q1", "sum")
    )
    summary["wards"] = geo.wards.groupby("council_code").size()
    summary["izs"] = geo.izs.groupby("council_code").size()
    names = geo.councils.set_index("council_code")["council_name"]
    return summary.assign(name=names)


def _write_manifest_md(
    path: Path,
    manifest: DemoManifest,
    spec: DemoSpec,
    geo: DemoGeography,
    stats: DemoStatistics,
    postcodes: pd.DataFrame,
) -> None:
    summary = _council_summary(geo, stats)
    council_lines = [
        f"| {code} | {row['name']} | {row['data_zones']} | {row['wards']} | {row['izs']} | "
        f"{row['people']:,} | {row['q1']} |"
        for code, row in summary.iterrows()
    ]
    file_lines = [
        f"| `{entry.path}` | {entry.kind} | {entry.vintage} | {entry.rows:,} | `{entry.sha256}` |"
        for entry in manifest.files
    ]
    areas = ", ".join(spec.postcodes.areas)
    terminated = int(postcodes["terminated"].sum())
    names = geo.wards["ward_name"]
    shared = ", ".join(f'"{name}"' for name in sorted(set(names[names.duplicated()])))
    text = f"""# {manifest.title} — synthetic demo data

Generated by `profiles.demo.generate.generate_demo` with seed **{manifest.seed}** from the spec
`data/config/demo.yaml`. Same spec + seed -> byte-identical files. **Every value is synthetic**:
no row of any real file was copied. The files copy only the *formats* of the real published
files (headers, column order, number formats, quoting, line endings, encodings and quirks).

## Geography
- {manifest.councils} councils, {manifest.wards} wards, {manifest.intermediate_zones} intermediate
  zones, {manifest.data_zones} data zones, {manifest.postcodes:,} postcode units
  ({terminated:,} terminated).
- Codes sit in a fictitious block so they never collide with real ones: councils `S129xxxxx`,
  wards `S139xxxxx`, IZs `S029xxxxx`, DZs `S019xxxxx` (also `S169`, `S149`, `S089`, `S379`,
  `S329`, `S399`, `S409`, `S439`, `S429`, `S229` for the lookup's other geographies, `S009`
  output areas, `S349` workplace zones). Country `S92000003` ("Scotland") is the whole demo:
  national ranks run over all demo data zones.
- The map is in the North Sea east of Aberdeen (EPSG:27700 origin {spec.origin[0]:.0f},
  {spec.origin[1]:.0f}), so demo polygons and postcodes never overlap real Scottish ones.
  Data zones are Voronoi cells of seeds that crowd in towns; wards and IZs are compact groups
  of data zones (IZs may straddle wards, as real best-fit ones do); ward polygons are exact
  unions of their data zones. Island councils have multi-part data zones and wards.
- Postcodes use the area(s) {areas}: a valid UK shape, but no such postcode area exists.
  Each unit lies >= 5 m inside its data zone; `lsoa11` = DZ, `msoa11` = IZ, `ward`, `laua`.

| council | name | DZs | wards | IZs | people (mid-2018) | DZs in SIMD 2020v2 quintile 1 |
|---|---|---|---|---|---|---|
{chr(10).join(council_lines)}

## Files
| file | kind | vintage | rows | sha256 |
|---|---|---|---|---|
{chr(10).join(file_lines)}

## Real-world quirks reproduced on purpose
- SIMD 2020v2: 49 columns, R-style quoting (text quoted, numbers bare, empty cells bare), LF;
  rates as "%" strings; `*` suppression in Attendance, Attainment, crime_count/crime_rate;
  "n/a" in Attainment; a few empty cells; x.5 tied ranks in income, employment, crime and
  housing; one data zone with no residents (zeros, blanks, "n/a").
- SIMD 2016: 47 columns with the published names (`Overal_SIMD16_Rank`, `Noquals`, `NEET`,
  `HESA`, `drive_PO`, `PT_Post`), underscores for spaces in names, CRLF, counts rounded to 5,
  ALCOHOL over 999 printed as "1,234" (quoted), "#VALUE!" and "*" cells.
- Lookup: 38 columns, Windows-1252, CRLF; ward names with a trailing space, a trailing
  no-break space and a curly apostrophe (per the spec's `lookup_name`); names with commas.
- Ward names used by more than one ward (join on codes, never on names): {shared or "none"}.
- statistics.gov.scot download: 8 preamble lines, URIs as area ids, all area types in one
  column, each type sorted by name; ward rows equal the sums of their data zones.
- NSPL: 41 columns, text quoted and lat/long/imd bare; terminated units keep their
  geography except one with no grid reference (lat 99.999999, long 0.000000, imd 0).
"""
    path.write_text(text, encoding="utf-8")
