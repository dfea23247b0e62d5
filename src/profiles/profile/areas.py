"""Areas a profile is computed for: localities, their councils, and Scotland.

What belongs here: the one membership table (area × data zone) every profile measure is
aggregated over, so localities and their comparators are computed by the same code.
"""

from __future__ import annotations

import pandas as pd

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
