"""Geocoding survey responses: postcode -> data zone -> ward, or a data zone code or place name.

What belongs here: matching each response's place to the survey council's geography and
saying how (`geocode_method`) and with what result (`geocode_status`). Nothing is dropped:
a response whose place cannot be matched keeps the survey's council (its voice counts for
the council as a whole) and is flagged with the reason.

Order of evidence: the postcode (normalised with `profiles.sources.postcodes.normalise_postcode`
and joined to the postcode lookup); when it is blank, malformed or unknown, the place
answer: a data zone code (`S01...`), else a locality or ward name of the council
(case, spacing and punctuation ignored). A place name gives the area's ward (when the
name is a ward or a one-ward locality) and locality, but no data zone.

Statuses (`GEOCODE_STATUSES`):
    matched                      a data zone (postcode, dz_code) or locality (place_name)
    outside_council              a real place, but in another council (no dz/ward kept)
    unmatched_blank              neither postcode nor place given
    unmatched_malformed          the postcode is not a UK postcode shape
    unmatched_unknown_postcode   a well-formed postcode missing from the lookup
    unmatched_unknown_place      no postcode; the place is no known data zone or name
A usable place answer rescues a bad postcode; when neither matches, the postcode's
reason is reported if one was given.
"""

from __future__ import annotations

import unicodedata

import numpy as np
import pandas as pd

from profiles import contract
from profiles.sources.postcodes import normalise_postcode
from profiles.voice.schema import normalise_column_name

GEOCODE_STATUSES: tuple[str, ...] = (
    "matched",
    "outside_council",
    "unmatched_blank",
    "unmatched_malformed",
    "unmatched_unknown_postcode",
    "unmatched_unknown_place",
)
GEOCODE_METHODS: tuple[str, ...] = ("postcode", "dz_code", "place_name", "unmatched")
GEOCODE_COLUMNS: tuple[str, ...] = (
    "dz_code",
    "ward_code",
    "council_code",
    "locality_id",
    "geocode_method",
    "geocode_status",
)


def postcode_keys(values: pd.Series) -> pd.Series:
    """Join key ('DD11DD') of each value, NA when blank or not a postcode shape.

    Each distinct value is normalised once (full-width characters folded first), so a
    survey of 100,000 responses costs one call per distinct postcode.
    """
    text = values.astype("string")
    uniques = text.dropna().unique()

    def key(value: str) -> str | None:
        normalised = normalise_postcode(unicodedata.normalize("NFKC", value))
        return normalised[1] if normalised else None

    mapping = {value: key(value) for value in uniques}
    return text.map(mapping, na_action="ignore").astype("string")


def _name_key(values: pd.Series) -> pd.Series:
    return values.astype("string").map(normalise_column_name, na_action="ignore").astype("string")


def _place_name_table(place_names: pd.DataFrame) -> pd.DataFrame:
    """One row per (council, name key); a key naming two areas of one council is ambiguous."""
    names = place_names.copy()
    if "ward_code" not in names:
        names["ward_code"] = pd.NA
    keyed = pd.concat(
        [
            names.assign(key=_name_key(names["locality_name"])),
            names.assign(key=_name_key(names["locality_id"])),
        ],
        ignore_index=True,
    ).dropna(subset=["key"])
    keyed = keyed[keyed["key"] != ""].drop_duplicates(["council_code", "key", "locality_id"])
    counts = keyed.groupby(["council_code", "key"])["locality_id"].transform("size")
    return keyed[counts == 1][["council_code", "key", "locality_id", "ward_code"]]


def geocode_responses(
    responses: pd.DataFrame,
    postcode_lookup: pd.DataFrame,
    dim_datazone: pd.DataFrame,
    place_names: pd.DataFrame,
    council_code: str,
) -> pd.DataFrame:
    """`responses` with `GEOCODE_COLUMNS` set (replacing any present).

    `responses` needs `postcode_raw` and a place column (`place`, else `place_raw`);
    `postcode_lookup` has `postcode_key` and `dz_code`; `dim_datazone` has `dz_code`,
    `ward_code`, `council_code`; `place_names` has `council_code`, `locality_id`,
    `locality_name` and optionally `ward_code`. `council_code` is always the survey's
    council; `dz_code`/`ward_code` are NULL unless the place matched inside it.

    Each distinct (postcode, place) pair is geocoded once and spread back to its rows.
    """
    place_column = "place" if "place" in responses else "place_raw"
    postcodes = responses["postcode_raw"].to_numpy(dtype=object, na_value=None)
    places = responses[place_column].to_numpy(dtype=object, na_value=None)
    postcode_codes, postcode_values = pd.factorize(postcodes, use_na_sentinel=False)
    place_codes, place_values = pd.factorize(places, use_na_sentinel=False)
    width = len(place_values) + 1
    pair_codes, pairs = pd.factorize(postcode_codes.astype(np.int64) * width + place_codes)
    distinct = pd.DataFrame(
        {
            "postcode_raw": pd.array(postcode_values[pairs // width], dtype="string"),
            "place": pd.array(place_values[pairs % width], dtype="string"),
        }
    )
    located = _geocode_distinct(distinct, postcode_lookup, dim_datazone, place_names, council_code)
    result = responses.drop(columns=[c for c in GEOCODE_COLUMNS if c in responses]).copy()
    for column in GEOCODE_COLUMNS:
        result[column] = located[column].take(pair_codes).set_axis(responses.index)
    return result


def _geocode_distinct(
    responses: pd.DataFrame,
    postcode_lookup: pd.DataFrame,
    dim_datazone: pd.DataFrame,
    place_names: pd.DataFrame,
    council_code: str,
) -> pd.DataFrame:
    """Geocode columns for a frame of distinct `postcode_raw`/`place` pairs."""
    index = responses.index
    dz_info = (
        dim_datazone[["dz_code", "ward_code", "council_code"]]
        .drop_duplicates("dz_code")
        .set_index("dz_code")
    )
    lookup = (
        postcode_lookup[["postcode_key", "dz_code"]]
        .dropna()
        .drop_duplicates("postcode_key")
        .set_index("postcode_key")["dz_code"]
    )

    postcode = responses["postcode_raw"].astype("string").str.strip()
    postcode_given = postcode.notna() & postcode.ne("")
    key = postcode_keys(postcode.where(postcode_given))
    well_formed = key.notna()
    pc_dz = key.map(lookup, na_action="ignore").astype("string")
    pc_dz = pc_dz.where(pc_dz.isin(dz_info.index))
    pc_found = pc_dz.notna()

    place = responses["place"].astype("string").str.strip()
    place_given = place.notna() & place.ne("")
    place_upper = place.str.upper()
    is_dz_code = place_upper.str.fullmatch(contract.DZ_CODE.pattern).fillna(False).astype(bool)
    place_dz = place_upper.where(is_dz_code & place_upper.isin(dz_info.index))
    dz_found = place_dz.notna()

    names = _place_name_table(place_names)
    place_key = _name_key(place.where(place_given & ~is_dz_code))
    own = names[names["council_code"] == council_code].set_index("key")
    other = names[names["council_code"] != council_code].drop_duplicates("key").set_index("key")
    own_locality = place_key.map(own["locality_id"], na_action="ignore")
    own_ward = place_key.map(own["ward_code"], na_action="ignore")
    name_found_own = own_locality.notna()
    name_found_other = ~name_found_own & place_key.map(other["locality_id"]).notna()

    use_postcode = pc_found
    use_dz = ~use_postcode & dz_found
    use_name = ~use_postcode & ~use_dz & (name_found_own | name_found_other)

    dz = pd.Series(pd.NA, index=index, dtype="string")
    dz[use_postcode] = pc_dz[use_postcode]
    dz[use_dz] = place_dz[use_dz]
    dz_council = dz.map(dz_info["council_code"], na_action="ignore")
    inside = (dz_council == council_code).fillna(False).astype(bool)
    name_inside = use_name & name_found_own
    outside = ((use_postcode | use_dz) & ~inside) | (use_name & name_found_other)

    method = np.select(
        [use_postcode, use_dz, use_name], ["postcode", "dz_code", "place_name"], "unmatched"
    )
    status = np.select(
        [
            outside,
            use_postcode | use_dz | use_name,
            postcode_given & ~well_formed,
            postcode_given & well_formed,
            place_given,
        ],
        [
            "outside_council",
            "matched",
            "unmatched_malformed",
            "unmatched_unknown_postcode",
            "unmatched_unknown_place",
        ],
        "unmatched_blank",
    )

    matched_dz = dz.where(inside & ~outside)
    ward = matched_dz.map(dz_info["ward_code"], na_action="ignore").astype("string")
    ward[name_inside] = own_ward[name_inside].astype("string")
    locality = pd.Series(pd.NA, index=index, dtype="string")
    locality[name_inside] = own_locality[name_inside].astype("string")

    result = pd.DataFrame(index=index)
    result["dz_code"] = matched_dz.astype("string")
    result["ward_code"] = ward.astype("string")
    result["council_code"] = pd.Series(council_code, index=index, dtype="string")
    result["locality_id"] = locality
    result["geocode_method"] = pd.Series(method, index=index, dtype="string")
    result["geocode_status"] = pd.Series(status, index=index, dtype="string")
    return result


def geocode_counts(geocoded: pd.DataFrame) -> dict[str, int]:
    """Responses per geocode status (every status present, zeros included)."""
    counts = geocoded["geocode_status"].value_counts()
    return {status: int(counts.get(status, 0)) for status in GEOCODE_STATUSES}
