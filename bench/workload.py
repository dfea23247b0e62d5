"""The Scotland-scale workload for the benchmark: published files and survey exports.

What belongs here: generating, once per set of parameters, a folder of statistics in the
published formats for a synthetic Scotland (`scotland_scale_spec`: 6,976 data zones in 32
councils with 355 wards, ~220,000 postcode units) and Place Standard survey exports from
several councils (>= 100,000 responses with free text), each written as the UTF-8 CSV a
survey tool exports. Respondents' postcodes and their areas' deprivation are read back from
the generated published files with the project's own parsers, so the surveys geocode the
way real ones would. Nothing here times anything; `bench.run` does.

Layout of a workload folder::

    <root>/sources/        the published files (+ sources.yaml, MANIFEST.md)
    <root>/surveys/        place_standard_<council>.csv, one per surveyed council
    <root>/incremental/    one more export, for the incremental re-build
    <root>/workload.json   the parameters and what was written (a present file = complete)
"""

from __future__ import annotations

import json
import shutil
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path

import pandas as pd

from profiles.demo import load_demo_spec, scotland_scale_spec
from profiles.demo.generate import DemoManifest, generate_demo
from profiles.demo.survey import SURVEY_COLUMNS, generate_place_standard_survey

WORKLOAD_FILE = "workload.json"
WORKLOAD_VERSION = 2
SURVEY_TODAY = date(2026, 10, 31)


@dataclass(frozen=True)
class WorkloadSpec:
    """What to generate. `scale` is `scotland` (6,976 data zones) or `demo` (the Demo
    City's 340, for a quick smoke run). Surveys go to every `council_stride`-th council,
    largest first, until `surveyed_councils` councils have one."""

    scale: str = "scotland"
    seed: int = 20260
    surveyed_councils: int = 8
    responses_per_council: int = 12_500
    incremental_responses: int = 3_000
    council_stride: int = 3

    @property
    def key(self) -> str:
        return (
            f"{self.scale}-s{self.seed}-c{self.surveyed_councils}x{self.responses_per_council}"
            f"-i{self.incremental_responses}-k{self.council_stride}-v{WORKLOAD_VERSION}"
        )


SCOTLAND = WorkloadSpec()
QUICK = WorkloadSpec(
    scale="demo",
    surveyed_councils=2,
    responses_per_council=3_000,
    incremental_responses=1_000,
    council_stride=1,
)


@dataclass
class SurveyExport:
    council_code: str
    council_name: str
    path: str
    responses: int
    comments: int


@dataclass
class Workload:
    """A generated workload on disk."""

    root: Path
    spec: WorkloadSpec
    data_zones: int
    councils: int
    wards: int
    postcodes: int
    surveys: list[SurveyExport] = field(default_factory=list)
    incremental: SurveyExport | None = None

    @property
    def sources_dir(self) -> Path:
        return self.root / "sources"

    @property
    def survey_responses(self) -> int:
        return sum(survey.responses for survey in self.surveys)

    @property
    def survey_comments(self) -> int:
        return sum(survey.comments for survey in self.surveys)

    def input_files(self) -> list[Path]:
        """Every input file of the cold build: published statistics and survey exports."""
        sources = sorted(
            path
            for path in self.sources_dir.iterdir()
            if path.suffix.lower() in {".csv", ".geojson"}
        )
        return sources + [Path(survey.path) for survey in self.surveys]

    def to_json(self) -> dict:
        return {
            "version": WORKLOAD_VERSION,
            "spec": asdict(self.spec),
            "data_zones": self.data_zones,
            "councils": self.councils,
            "wards": self.wards,
            "postcodes": self.postcodes,
            "surveys": [asdict(survey) for survey in self.surveys],
            "incremental": asdict(self.incremental) if self.incremental else None,
        }

    @classmethod
    def from_json(cls, root: Path, data: dict) -> Workload:
        return cls(
            root=root,
            spec=WorkloadSpec(**data["spec"]),
            data_zones=data["data_zones"],
            councils=data["councils"],
            wards=data["wards"],
            postcodes=data["postcodes"],
            surveys=[SurveyExport(**survey) for survey in data["surveys"]],
            incremental=SurveyExport(**data["incremental"]) if data["incremental"] else None,
        )


def _respondent_frames(manifest: DemoManifest, n_zones: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(postcodes, deprivation) as `generate_place_standard_survey` wants them, read from the
    published files: live postcodes with their data zone, and each data zone's SIMD 2020v2
    overall quintile with its council."""
    from profiles.sources.lookup import read_dz_lookup
    from profiles.sources.postcodes import read_nspl
    from profiles.sources.simd import read_simd_withinds

    postcodes = read_nspl(manifest.path_of("postcodes_nspl")).frame
    postcodes = postcodes.loc[postcodes["is_live"], ["postcode", "dz_code"]].dropna()
    ranks = read_simd_withinds(manifest.path_of("simd_withinds", "2020v2"), n_zones=n_zones).ranks
    overall = ranks.loc[ranks["domain"] == "overall", ["dz_code", "quintile"]]
    lookup = read_dz_lookup(manifest.path_of("dz_lookup"))[["dz_code", "council_code"]]
    deprivation = overall.rename(columns={"quintile": "simd_quintile"}).merge(lookup, on="dz_code")
    return postcodes.reset_index(drop=True), deprivation.reset_index(drop=True)


def _write_export(frame: pd.DataFrame, path: Path) -> int:
    """The survey tool's CSV export (UTF-8, LF), as `write_survey_exports` writes its CSV."""
    path.parent.mkdir(parents=True, exist_ok=True)
    frame[list(SURVEY_COLUMNS)].to_csv(path, index=False, encoding="utf-8", lineterminator="\n")
    return int(frame["what_is_good"].notna().sum() + frame["what_could_be_better"].notna().sum())


def _survey(
    postcodes: pd.DataFrame,
    deprivation: pd.DataFrame,
    council: tuple[str, str],
    n_responses: int,
    seed: int,
    folder: Path,
) -> SurveyExport:
    code, name = council
    zones = deprivation[deprivation["council_code"] == code]
    local = postcodes[postcodes["dz_code"].isin(zones["dz_code"])]
    frame = generate_place_standard_survey(
        local, zones, n_responses=n_responses, seed=seed, today=SURVEY_TODAY
    )
    path = folder / f"place_standard_{code}.csv"
    comments = _write_export(frame, path)
    return SurveyExport(code, name, str(path), len(frame), comments)


def generate_workload(
    root: Path, spec: WorkloadSpec = SCOTLAND, *, force: bool = False
) -> Workload:
    """Generate the workload into `root` (reused when `root/workload.json` says it is the
    same spec, unless `force`)."""
    root = Path(root)
    marker = root / WORKLOAD_FILE
    if marker.is_file() and not force:
        data = json.loads(marker.read_text(encoding="utf-8"))
        if data.get("version") == WORKLOAD_VERSION and data.get("spec") == asdict(spec):
            return Workload.from_json(root, data)
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    demo_spec = scotland_scale_spec() if spec.scale == "scotland" else load_demo_spec()
    manifest = generate_demo(root / "sources", spec=demo_spec, seed=spec.seed)
    postcodes, deprivation = _respondent_frames(manifest, manifest.data_zones)

    sizes = deprivation.groupby("council_code").size()
    names = {c.code: c.name for c in demo_spec.councils}
    by_size = sorted(sizes.index, key=lambda code: (-sizes[code], code))
    chosen = by_size[:: spec.council_stride][: spec.surveyed_councils]
    spare = [code for code in by_size if code not in chosen]
    if len(chosen) < spec.surveyed_councils or not spare:
        raise ValueError(f"{spec.scale}: not enough councils for {spec.surveyed_councils} surveys")

    workload = Workload(
        root=root,
        spec=spec,
        data_zones=manifest.data_zones,
        councils=manifest.councils,
        wards=manifest.wards,
        postcodes=manifest.postcodes,
    )
    for index, code in enumerate(chosen):
        workload.surveys.append(
            _survey(
                postcodes,
                deprivation,
                (code, names[code]),
                spec.responses_per_council,
                spec.seed + 100 + index,
                root / "surveys",
            )
        )
    workload.incremental = _survey(
        postcodes,
        deprivation,
        (spare[0], names[spare[0]]),
        spec.incremental_responses,
        spec.seed + 99,
        root / "incremental",
    )
    marker.write_text(json.dumps(workload.to_json(), indent=2), encoding="utf-8")
    return workload


def main() -> None:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", type=Path)
    parser.add_argument("--quick", action="store_true", help="Demo City scale")
    parser.add_argument("--force", action="store_true")
    args = parser.parse_args()
    workload = generate_workload(args.root, QUICK if args.quick else SCOTLAND, force=args.force)
    print(json.dumps(workload.to_json(), indent=2))


if __name__ == "__main__":
    main()
