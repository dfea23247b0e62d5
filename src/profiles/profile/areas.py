"""Areas a profile is computed for: localities, their councils, and Scotland.

What belongs here: the one membership table (area × data zone) every profile measure is
aggregated over, and `area_sums`, which adds data zone figures up over it, so localities
and their comparators are computed by the same code.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.sparse import csr_matrix

from profiles.contract import SCOTLAND_CODE

AREA_KEY = ["area_level", "council_code", "locality_id"]
"""An area: `area_level` is locality | council | scotland. A council's own row has
`locality_id` = its council code; Scotland's has both set to S92000003."""


def area_membership(
    dim_datazone: pd.DataFrame,
    bridge: pd.DataFrame,
    *,
    councils: list[str] | None = None,
    include_scotland: bool = True,
) -> pd.DataFrame:
    """Rows (area_level, council_code, locality_id, dz_code) for every area.

    Councils are limited to `councils` when given (localities likewise); Scotland always
    covers every data zone, because national comparators never shrink with a filter.
    """
    localities = bridge.assign(area_level="locality")
    council_zones = dim_datazone[["council_code", "dz_code"]]
    if councils is not None:
        localities = localities[localities["council_code"].isin(councils)]
        council_zones = council_zones[council_zones["council_code"].isin(councils)]
    council_rows = council_zones.assign(
        area_level="council", locality_id=council_zones["council_code"]
    )
    frames = [localities, council_rows]
    if include_scotland:
        frames.append(
            dim_datazone[["dz_code"]].assign(
                area_level="scotland", council_code=SCOTLAND_CODE, locality_id=SCOTLAND_CODE
            )
        )
    return pd.concat(frames, ignore_index=True)[[*AREA_KEY, "dz_code"]]


def _factorize_rows(frame: pd.DataFrame, keys: list[str]) -> tuple[np.ndarray, pd.DataFrame]:
    """Code of each row's `keys` (0..k-1 by first appearance) and the k distinct key rows."""
    codes = frame.groupby(keys, sort=False).ngroup().to_numpy()
    _, first = np.unique(codes, return_index=True)
    return codes, frame[keys].iloc[first].reset_index(drop=True)


def area_sums(
    membership: pd.DataFrame,
    cells: pd.DataFrame,
    *,
    keys: list[str],
    summed: tuple[str, ...],
    counted: tuple[str, ...] = (),
) -> pd.DataFrame:
    """`cells`' `summed` columns added up over each area's data zones.

    `cells` has one row per data zone × `keys` (e.g. vintage and indicator). The result
    has one row per area × `keys` with at least one cell, sorted by AREA_KEY then `keys`,
    with the `counted` columns (counts of data zones) as integers — what a merge of
    `membership` with `cells` grouped by area and `keys` gives (the tests compare them).

    Written as a sparse (area × data zone) matrix times a dense (data zone × key) matrix
    per column rather than that merge and a string-keyed group-by: every data zone sits in
    three areas (locality, council, Scotland), and the merged frame of over a million rows
    was most of the profile's time at Scotland scale. Sums run in data zone order, so the
    result is the same from run to run. Memory: one float per data zone × distinct `keys`
    at a time (Scotland's indicators: 6,976 × about 70, 4 MB).
    """
    cells = cells.dropna(subset=["dz_code", *keys])
    membership = membership.dropna(subset=[*AREA_KEY, "dz_code"])
    zone_codes, zones = pd.factorize(
        pd.concat([membership["dz_code"], cells["dz_code"]], ignore_index=True)
    )
    member_zone = zone_codes[: len(membership)]
    cell_zone = zone_codes[len(membership) :]
    area_codes, areas = _factorize_rows(membership, AREA_KEY)
    column_codes, columns = _factorize_rows(cells, keys)
    n_zones, n_columns = len(zones), len(columns)
    membership_matrix = csr_matrix(
        (np.ones(len(membership)), (area_codes, member_zone)), shape=(len(areas), n_zones)
    )

    def summed_over_areas(values: np.ndarray) -> np.ndarray:
        per_zone = np.zeros((n_zones, n_columns))
        # A data zone with two rows for one key adds both, as a group-by would.
        np.add.at(per_zone, (cell_zone, column_codes), values)
        return np.asarray(membership_matrix @ per_zone)

    present = summed_over_areas(np.ones(len(cells))) > 0
    area_index, column_index = np.nonzero(present)
    grouped = pd.concat(
        [
            areas.iloc[area_index].reset_index(drop=True),
            columns.iloc[column_index].reset_index(drop=True),
        ],
        axis=1,
    )
    for name in summed:
        values = cells[name].to_numpy(dtype=float)
        total = summed_over_areas(values)[area_index, column_index]
        grouped[name] = np.rint(total).astype(np.int64) if name in counted else total
    return grouped.sort_values([*AREA_KEY, *keys], kind="stable", ignore_index=True)
