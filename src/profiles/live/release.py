"""Has statistics.gov.scot published a newer release than the one we loaded?

What belongs here: one light SPARQL question (the SIMD dataset's `dcterms:modified`), the
comparison with what the raw cache last recorded, and a sentence saying so. Used by the
`statistics_release_check` schedule; never downloads data.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from pathlib import Path

import requests

from profiles.live.http import make_session

DATASET_URI = "http://statistics.gov.scot/data/scottish-index-of-multiple-deprivation"
MODIFIED_QUERY = (
    "SELECT ?modified WHERE { <" + DATASET_URI + "> <http://purl.org/dc/terms/modified> ?modified }"
)
STATE_FILE = "release_state.json"


@dataclass(frozen=True)
class ReleaseCheck:
    newer: bool
    published_modified: str | None
    loaded_modified: str | None
    message: str


def published_modified(base_url: str, *, timeout_s: float = 15.0) -> str:
    """The dataset's modification date as statistics.gov.scot states it."""
    session = make_session("locality-profiles release check")
    response = session.post(
        base_url.rstrip("/") + "/sparql",
        data={"query": MODIFIED_QUERY},
        headers={"Accept": "text/csv"},
        timeout=timeout_s,
    )
    response.raise_for_status()
    if "html" in response.headers.get("Content-Type", "").lower():
        raise ValueError("statistics.gov.scot answered with an HTML page, not CSV")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    if not rows or not rows[0].get("modified"):
        raise ValueError("statistics.gov.scot returned no modification date for SIMD")
    return max(row["modified"] for row in rows)


def check_release(base_url: str, cache_dir: Path, *, timeout_s: float = 15.0) -> ReleaseCheck:
    """Compare the published modification date with the one recorded at the last check."""
    state_path = cache_dir / STATE_FILE
    loaded = None
    if state_path.is_file():
        loaded = json.loads(state_path.read_text(encoding="utf-8")).get("modified")
    try:
        published = published_modified(base_url, timeout_s=timeout_s)
    except (requests.RequestException, ValueError) as error:
        return ReleaseCheck(False, None, loaded, f"could not ask {base_url}: {error}")
    if loaded is None:
        cache_dir.mkdir(parents=True, exist_ok=True)
        state_path.write_text(json.dumps({"modified": published}), encoding="utf-8")
        return ReleaseCheck(
            False,
            published,
            None,
            f"SIMD on statistics.gov.scot last modified {published}; recorded",
        )
    if published > loaded:
        return ReleaseCheck(
            True,
            published,
            loaded,
            f"newer SIMD release: modified {published}, last loaded {loaded}; run the "
            "refresh_statistics job with PROFILES_SOURCE=live (or `profiles build --live`)",
        )
    return ReleaseCheck(False, published, loaded, f"up to date (modified {published})")


def record_loaded(cache_dir: Path, modified: str) -> None:
    """Remember the release that was loaded, so the next check compares against it."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    (cache_dir / STATE_FILE).write_text(json.dumps({"modified": modified}), encoding="utf-8")
