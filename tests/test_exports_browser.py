"""Every HTML report of a pack renders in headless Chromium, offline, without console errors.

Skipped (with the reason) when no Chromium is installed; CI installs Debian's `chromium`.
Set PROFILES_SCREENSHOT_DIR to keep the screenshots (full page, and 1600-pixel slices that
are easier to look at) for a human check.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from profiles.exports import html
from profiles.exports.pack import PackManifest, build_council_packs
from tests.browser import find_chromium, launch
from tests.export_fixtures import make_pack_data

pytestmark = pytest.mark.browser

READY = """
window.profileChartsReady.then(function (ids) {
  return ids.map(function (id) {
    var node = document.getElementById(id);
    var box = node.getBoundingClientRect();
    return {
      id: id,
      svg: node.querySelectorAll("svg.main-svg").length,
      traces: (node.data || []).length,
      marks: node.querySelectorAll(
        ".scatterlayer .trace path, .barlayer .point path, .heatmaplayer image, " +
        ".polarlayer .trace path").length,
      fills: node.querySelectorAll("path.js-fill").length,
      height: box.height,
      label: node.getAttribute("aria-label") || ""
    };
  });
})
"""
LOCAL_SCHEMES = ("file:", "data:", "about:", "blob:")


@pytest.fixture(scope="module")
def chromium() -> str:
    binary = find_chromium()
    if binary is None:
        pytest.skip("no Chromium found (install Debian's `chromium`; CI does)")
    return binary


@pytest.fixture(scope="module")
def pack(tmp_path_factory: pytest.TempPathFactory) -> PackManifest:
    return build_council_packs(make_pack_data(), tmp_path_factory.mktemp("packs"))


def test_every_report_renders_every_chart_offline(
    chromium: str, pack: PackManifest, tmp_path: Path
) -> None:
    reports = [(f, p) for f, p in zip(pack.files, pack.paths(), strict=True) if f.kind == "html"]
    assert len(reports) == 9
    keep = os.environ.get("PROFILES_SCREENSHOT_DIR")
    with launch(chromium) as browser:
        for item, path in reports:
            report = browser.open_page(
                path.as_uri(),
                ready_expression=READY,
                segment_height=1600 if keep else None,
                scale=1.0 if keep else 0.5,
            )
            assert report.console_errors == [], (path.name, report.console_errors)
            remote = [url for url in report.requests if not url.startswith(LOCAL_SCHEMES)]
            assert remote == [], (path.name, remote)

            expected = html.LOCALITY_CHARTS if item.locality_id else html.OVERVIEW_CHARTS
            charts = {chart["id"]: chart for chart in report.ready}
            assert list(charts) == list(expected), path.name
            for chart in charts.values():
                assert chart["svg"] >= 1, chart
                assert chart["traces"] >= 1 and chart["marks"] >= 1, chart
                assert chart["height"] >= 300, chart
                assert len(chart["label"]) > 40, chart
            # The map draws filled data zones (one filled trace per decile present).
            assert charts["chart-map"]["fills"] >= 2, charts["chart-map"]

            shot = tmp_path / f"{item.locality_id or 'overview'}.png"
            shot.write_bytes(report.screenshot)
            assert report.screenshot.startswith(b"\x89PNG") and shot.stat().st_size > 20_000
            if keep:
                folder = Path(keep)
                folder.mkdir(parents=True, exist_ok=True)
                shutil.copy(shot, folder / shot.name)
                for index, piece in enumerate(report.segments):
                    (folder / f"{shot.stem}_{index}.png").write_bytes(piece)
