"""Statistical disclosure control: the one place that decides which published cells to hide.

What belongs here: the suppression rules (`DisclosureRules`, read from
`data/config/disclosure.yaml`), the mask that applies them to a table, and `apply_mask`
which blanks the masked cells. Every table the project publishes goes through
`suppression_mask` + `apply_mask`; nothing else hides numbers.

Rules
    Primary: a count is hidden when ``0 < count < threshold`` (default threshold 5, so
    1..4 are hidden). Zeros are shown unless ``suppress_zeros`` is set: a zero reveals no
    individual, and hiding it would make true zeros look like small counts.

    Secondary: cells that add up to a published total form an *additive group* (the parts
    plus the total). A hidden cell could be recovered by subtraction if it were the only
    hidden cell of a group, so while any group has exactly one hidden cell, another visible
    cell of that group is hidden too: a non-zero one that also fixes other such groups
    (counting groups where it is a part, so totals stay visible), otherwise the smallest
    non-zero one; a zero only when nothing else is left. Because a hidden cell can still be
    pinned down by combining several groups (e.g. two rows and two columns), the mask is
    then audited with linear algebra: a hidden cell whose value is determined by the
    published totals and visible cells (its unit vector lies in the row space of the
    constraint system restricted to hidden cells) gets another complementary cell from one
    of its groups, and the loop repeats until no hidden cell is determined. Bounds from
    non-negativity (e.g. "these two hidden cells sum to 6") are not audited.

    Cells that are already missing (NaN) in the input are not counted as protection: the
    audit treats them as known, because a total may have been computed without them.

    Derived columns: when a count is hidden, the columns computed from it in the same row
    (rate, share, confidence limits, significance...) are hidden too, or the count could be
    recomputed as rate x denominator. Families are configured in `derived_columns`; the key
    ``"*"`` applies to every count column and ``{count}`` in a name stands for the count
    column's own name.

Table structure (what `suppression_mask` needs to know about totals)
    - ``total_row`` + ``group_keys``: rows with equal `group_keys` values (all rows when
      empty) add up, in every count column, to the one row of that group flagged by
      `total_row` (e.g. localities and their council-total row, per indicator).
    - ``row_groups``: the same, given explicitly as ``(total_label, part_labels)`` pairs of
      index labels; use this for nested levels (data zones -> locality -> council).
    - ``column_totals``: ``{total_column: [part columns]}``: within every row the part
      columns add up to the total column (e.g. age bands and an all-ages column).
    Tables without published totals get primary suppression only.

Outputs
    `suppression_mask` returns a boolean DataFrame shaped like the table (True = hide).
    `apply_mask` sets those cells to missing (integer columns become nullable ``Int64``)
    or to a text marker such as ``"*"``, and sets a row-level boolean ``suppressed``
    column (OR-ed with an existing one, e.g. source suppression): True when any cell of
    the row was hidden. Cell-level detail is the mask itself.

Limits: one table at a time. The same count published in two tables with different
structures is not protected across them; the caller must publish consistent tables.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from profiles.errors import ConfigError
from profiles.settings import CONFIG_DIR

DEFAULT_RULES_PATH = CONFIG_DIR / "disclosure.yaml"
_AUDIT_TOLERANCE = 1e-9
_RANK_TOLERANCE = 1e-10


@dataclass(frozen=True)
class DisclosureRules:
    """Suppression settings; defaults match `data/config/disclosure.yaml`."""

    threshold: int = 5
    suppress_zeros: bool = False
    secondary: bool = True
    marker: str | None = "*"
    derived_columns: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if isinstance(self.threshold, bool) or not isinstance(self.threshold, int):
            raise ValueError(f"threshold must be a whole number, got {self.threshold!r}")
        if self.threshold < 1:
            raise ValueError(f"threshold must be at least 1, got {self.threshold}")

    @classmethod
    def from_yaml(cls, path: str | Path = DEFAULT_RULES_PATH) -> DisclosureRules:
        """Read rules from YAML; unknown keys and wrong types raise `ConfigError`."""
        path = Path(path)
        try:
            raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as error:
            raise ConfigError(f"{path}: cannot read disclosure rules ({error})") from error
        if not isinstance(raw, dict):
            raise ConfigError(f"{path}: expected a mapping of settings")
        allowed = {"threshold", "suppress_zeros", "secondary", "marker", "derived_columns"}
        unknown = set(raw) - allowed
        if unknown:
            raise ConfigError(f"{path}: unknown setting(s) {', '.join(sorted(unknown))}")
        for flag in ("suppress_zeros", "secondary"):
            if flag in raw and not isinstance(raw[flag], bool):
                raise ConfigError(f"{path}, field {flag!r}: must be true or false")
        if "marker" in raw and raw["marker"] is not None and not isinstance(raw["marker"], str):
            raise ConfigError(f"{path}, field 'marker': must be text or null")
        families = raw.get("derived_columns") or {}
        if not isinstance(families, dict) or not all(
            isinstance(names, list) and all(isinstance(name, str) for name in names)
            for names in families.values()
        ):
            raise ConfigError(
                f"{path}, field 'derived_columns': must map a count column to a list of names"
            )
        settings: dict[str, Any] = {key: raw[key] for key in allowed & set(raw)}
        settings["derived_columns"] = {
            str(count): tuple(names) for count, names in families.items()
        }
        try:
            return cls(**settings)
        except ValueError as error:
            raise ConfigError(f"{path}, field 'threshold': {error}") from error

    def derived_for(self, count_column: str, columns: Iterable[str]) -> list[str]:
        """Columns of a table hidden together with `count_column` (those that exist)."""
        existing = set(columns)
        names = [*self.derived_columns.get(count_column, ()), *self.derived_columns.get("*", ())]
        resolved = [name.replace("{count}", count_column) for name in names]
        return [
            name for name in dict.fromkeys(resolved) if name in existing and name != count_column
        ]


def load_disclosure_rules(path: str | Path | None = None) -> DisclosureRules:
    """The project's rules from `data/config/disclosure.yaml` (or `path`)."""
    return DisclosureRules.from_yaml(DEFAULT_RULES_PATH if path is None else path)


def primary_suppression(counts: Any, rules: DisclosureRules | None = None) -> np.ndarray:
    """Boolean array: True where a count is hidden by the primary rule (NaN is never hidden)."""
    rules = rules or DisclosureRules()
    values = np.asarray(counts, dtype=float)
    if np.any(values < 0):
        raise ValueError("counts must not be negative")
    hidden = (values > 0) & (values < rules.threshold)
    if rules.suppress_zeros:
        hidden |= values == 0
    return hidden


# --- Additive structure ---------------------------------------------------------------------


@dataclass(frozen=True)
class _Group:
    """Cells (flat ids) whose parts add up to the total cell."""

    total: int
    parts: tuple[int, ...]

    @property
    def cells(self) -> tuple[int, ...]:
        return (self.total, *self.parts)


def _row_positions_groups(
    table: pd.DataFrame,
    total_row: str | pd.Series | None,
    group_keys: Sequence[str],
    row_groups: Sequence[tuple[Hashable, Sequence[Hashable]]] | None,
) -> list[tuple[int, list[int]]]:
    if row_groups is not None:
        if total_row is not None or group_keys:
            raise ValueError("give row_groups or total_row/group_keys, not both")
        position = {label: i for i, label in enumerate(table.index)}
        try:
            return [
                (position[total], [position[part] for part in parts]) for total, parts in row_groups
            ]
        except KeyError as error:
            raise ValueError(f"row_groups names a row label not in the table: {error}") from None
    if total_row is None:
        if group_keys:
            raise ValueError("group_keys needs total_row to say which row is each group's total")
        return []
    flags = table[total_row] if isinstance(total_row, str) else total_row
    flags = pd.Series(flags, index=table.index).fillna(False).astype(bool).to_numpy()
    positions = np.arange(len(table))
    if group_keys:
        labels = table.groupby(list(group_keys), sort=False, dropna=False).ngroup().to_numpy()
    else:
        labels = np.zeros(len(table), dtype=int)
    result = []
    for label in np.unique(labels):
        members = positions[labels == label]
        totals = members[flags[members]]
        if len(totals) > 1:
            raise ValueError(f"a group of rows has {len(totals)} total rows; expected one")
        if len(totals) == 1:
            result.append((int(totals[0]), [int(p) for p in members if p != totals[0]]))
    return result


def _build_groups(
    table: pd.DataFrame,
    count_columns: Sequence[str],
    total_row: str | pd.Series | None,
    group_keys: Sequence[str],
    row_groups: Sequence[tuple[Hashable, Sequence[Hashable]]] | None,
    column_totals: Mapping[str, Sequence[str]] | None,
) -> list[_Group]:
    n_columns = len(count_columns)
    column_index = {name: j for j, name in enumerate(count_columns)}

    def cell(row: int, column: int) -> int:
        return row * n_columns + column

    groups = [
        _Group(cell(total, j), tuple(cell(part, j) for part in parts))
        for total, parts in _row_positions_groups(table, total_row, group_keys, row_groups)
        for j in range(n_columns)
    ]
    for total_column, part_columns in (column_totals or {}).items():
        missing = [c for c in (total_column, *part_columns) if c not in column_index]
        if missing:
            raise ValueError(f"column_totals names columns not in count_columns: {missing}")
        total_j = column_index[total_column]
        parts_j = [column_index[c] for c in part_columns]
        groups.extend(
            _Group(cell(row, total_j), tuple(cell(row, j) for j in parts_j))
            for row in range(len(table))
        )
    return groups


# --- Secondary suppression -------------------------------------------------------------------


def _complement_order(cell_id: int, values: np.ndarray, bonus: int) -> tuple[bool, int, float, int]:
    # Prefer non-zero cells (hiding a zero adds little uncertainty), then a cell that also
    # protects other exposed groups (fewer hidden cells overall), then the smallest, then a
    # stable order. `bonus` only counts groups where the cell is a part, so totals stay visible.
    return (values[cell_id] == 0, -bonus, float(values[cell_id]), cell_id)


def _fix_lone_hidden_cells(
    hidden: np.ndarray, values: np.ndarray, available: np.ndarray, groups: list[_Group]
) -> None:
    """Hide complements until no group has exactly one hidden cell (in place)."""
    hopeless: set[int] = set()
    while True:
        hidden_counts = [int(hidden[list(g.cells)].sum()) for g in groups]
        exposed = [i for i, n in enumerate(hidden_counts) if n == 1 and i not in hopeless]
        if not exposed:
            return
        group_index = exposed[0]
        exposed_as_part: dict[int, int] = {}
        for i in exposed[1:]:
            for c in groups[i].parts:
                exposed_as_part[c] = exposed_as_part.get(c, 0) + 1
        candidates = [c for c in groups[group_index].cells if available[c] and not hidden[c]]
        if not candidates:
            hopeless.add(group_index)
            continue
        best = min(
            candidates, key=lambda c: _complement_order(c, values, exposed_as_part.get(c, 0))
        )
        hidden[best] = True


def _determined_hidden_cells(
    hidden: np.ndarray, available: np.ndarray, groups: list[_Group]
) -> list[int]:
    """Hidden cells whose value follows exactly from the published cells and totals."""
    unknown = np.flatnonzero(hidden & available)
    if len(unknown) == 0:
        return []
    column_of = {cell_id: k for k, cell_id in enumerate(unknown)}
    rows = []
    for group in groups:
        coefficients = np.zeros(len(unknown))
        for cell_id, sign in ((group.total, -1.0), *((p, 1.0) for p in group.parts)):
            if cell_id in column_of:
                coefficients[column_of[cell_id]] += sign
        if coefficients.any():
            rows.append(coefficients)
    if not rows:
        return []
    # x_j is determined iff e_j lies in the row space of the constraints on hidden cells,
    # i.e. iff its projection onto an orthonormal basis of that space has length 1.
    constraints = np.vstack(rows)
    _, singular_values, row_space = np.linalg.svd(constraints, full_matrices=False)
    rank = int(np.sum(singular_values > _RANK_TOLERANCE * max(constraints.shape)))
    projection = np.sum(row_space[:rank] ** 2, axis=0)
    return [int(c) for c in unknown[projection > 1 - _AUDIT_TOLERANCE]]


def _secondary_suppression(
    hidden: np.ndarray, values: np.ndarray, available: np.ndarray, groups: list[_Group]
) -> np.ndarray:
    hidden = hidden.copy()
    groups_of_cell: dict[int, list[_Group]] = {}
    for group in groups:
        for c in group.cells:
            groups_of_cell.setdefault(c, []).append(group)
    while True:
        _fix_lone_hidden_cells(hidden, values, available, groups)
        determined = _determined_hidden_cells(hidden, available, groups)
        if not determined:
            return hidden
        neighbours = {
            c
            for cell_id in determined
            for group in groups_of_cell.get(cell_id, [])
            for c in group.cells
            if available[c] and not hidden[c]
        }
        if not neighbours:
            # Every cell around the determined ones is hidden or missing already: nothing
            # more this table can do (only reachable with missing cells in the structure).
            return hidden
        hidden[min(neighbours, key=lambda c: _complement_order(c, values, 0))] = True


# --- Public API ------------------------------------------------------------------------------


def suppression_mask(
    table: pd.DataFrame,
    count_columns: Sequence[str],
    rules: DisclosureRules | None = None,
    *,
    total_row: str | pd.Series | None = None,
    group_keys: Sequence[str] = (),
    row_groups: Sequence[tuple[Hashable, Sequence[Hashable]]] | None = None,
    column_totals: Mapping[str, Sequence[str]] | None = None,
) -> pd.DataFrame:
    """Boolean mask (True = hide) shaped like `table`; see the module docstring.

    `count_columns` are the columns holding counts (parts and totals alike); each is
    checked against the primary rule, protected by secondary suppression along the
    declared totals, and carries its derived columns. The table's index must be unique.
    """
    rules = rules or DisclosureRules()
    if not table.index.is_unique:
        raise ValueError("the table's index must be unique (reset_index() first)")
    count_columns = list(count_columns)
    absent = [c for c in count_columns if c not in table.columns]
    if absent:
        raise ValueError(f"count columns not in the table: {absent}")

    counts = table[count_columns].apply(pd.to_numeric, errors="raise").to_numpy(dtype=float)
    values = counts.reshape(-1)  # cell id = row position * len(count_columns) + column
    available = ~np.isnan(values)
    hidden = primary_suppression(values, rules)

    if rules.secondary:
        groups = _build_groups(
            table, count_columns, total_row, group_keys, row_groups, column_totals
        )
        if groups:
            hidden = _secondary_suppression(hidden, values, available, groups)

    hidden_counts = hidden.reshape(counts.shape)
    mask = pd.DataFrame(False, index=table.index, columns=table.columns)
    for j, column in enumerate(count_columns):
        rows = hidden_counts[:, j]
        mask.loc[rows, column] = True
        for derived in rules.derived_for(column, table.columns):
            mask.loc[rows, derived] = True
    return mask


def apply_mask(
    table: pd.DataFrame,
    mask: pd.DataFrame,
    marker: str | None = None,
    flag_column: str | None = "suppressed",
) -> pd.DataFrame:
    """Copy of `table` with masked cells blanked and a row-level `flag_column`.

    Masked cells become missing (integer columns turn into nullable ``Int64`` so counts
    stay whole numbers), or the text `marker` when given (the column becomes text).
    `flag_column` (None to skip) is True for rows with any masked cell, OR-ed with the
    column's existing values.
    """
    if not mask.index.equals(table.index):
        raise ValueError("mask and table have different indexes")
    unknown = [c for c in mask.columns if c not in table.columns]
    if unknown:
        raise ValueError(f"mask has columns not in the table: {unknown}")
    mask = mask.fillna(False).astype(bool)
    out = table.copy()
    for column in mask.columns[mask.any(axis=0)]:
        rows = mask[column].to_numpy()
        if marker is not None:
            out[column] = out[column].astype(object).where(~rows, marker)
            continue
        if pd.api.types.is_integer_dtype(out[column]):
            out[column] = out[column].astype("Int64")
        elif pd.api.types.is_bool_dtype(out[column]):
            out[column] = out[column].astype("boolean")
        out[column] = out[column].mask(rows)
    if flag_column is not None:
        row_hidden = mask.any(axis=1)
        if flag_column in out.columns:
            existing = out[flag_column].astype("boolean").fillna(False).astype(bool)
            out[flag_column] = existing | row_hidden
        else:
            out[flag_column] = row_hidden
    return out
