"""CSV and Parquet copies of every mart in a pack, for R and Python users.

What belongs here: which frames of a `PackData` are published as tables (`mart_frames`:
the council's rows of each mart, named after the warehouse table) and writing them.
Parquet keeps the warehouse's values and types exactly (geometry as WKB in EPSG:27700, as
in the warehouse). CSV is UTF-8 with a header and `\\n` line ends; geometry is left out
(use the Parquet or the GeoPackage), and text that a spreadsheet could run as a formula
starts with an apostrophe (`profiles.exports.safety`). Both are byte-identical when rebuilt
from the same data with the same library versions.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import shapely

from profiles.exports.data import MART_TABLES, PackData, frame_names
from profiles.exports.safety import neutralise_frame_for_csv

GEOMETRY_COLUMN = "geometry_wkb"


def _geo_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A GeoDataFrame as the warehouse stores it: attributes plus WKB bytes."""
    attributes = pd.DataFrame(frame.drop(columns=frame.geometry.name))
    attributes[GEOMETRY_COLUMN] = list(shapely.to_wkb(frame.geometry.to_numpy()))
    return attributes


def mart_frames(data: PackData) -> dict[str, pd.DataFrame]:
    """Table name (as in the warehouse, without schema) → the council's rows."""
    frames = {MART_TABLES[name].split(".", 1)[1]: getattr(data, name) for name in frame_names()}
    frames["geo_datazone"] = _geo_frame(data.geo_datazone)
    frames["geo_ward"] = _geo_frame(data.geo_ward)
    return frames


def _csv_ready(frame: pd.DataFrame) -> pd.DataFrame:
    return neutralise_frame_for_csv(frame.drop(columns=[GEOMETRY_COLUMN], errors="ignore"))


def write_tables(data: PackData, folder: Path) -> list[Path]:
    """Write `<table>.csv` and `<table>.parquet` for every mart into `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for name, frame in mart_frames(data).items():
        frame = frame.reset_index(drop=True)
        csv_path = folder / f"{name}.csv"
        _csv_ready(frame).to_csv(csv_path, index=False, lineterminator="\n", encoding="utf-8")
        parquet_path = folder / f"{name}.parquet"
        table = pa.Table.from_pandas(frame, preserve_index=False)
        pq.write_table(table, parquet_path, compression="zstd")
        written += [csv_path, parquet_path]
    return written
