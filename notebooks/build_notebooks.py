"""Writes the analyst notebooks in this folder (run it after editing the cells below).

Notebooks are committed without outputs; `tests/test_notebooks.py` executes each one top to
bottom against a demo warehouse. Each opens the warehouse read-only, so a notebook never
locks out a running pipeline (or reads the Parquet export when PROFILES_PARQUET is set).
"""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).resolve().parent

SETUP = '''import os
from pathlib import Path

import duckdb
import pandas as pd
import plotly.express as px

WAREHOUSE = Path(os.environ.get("PROFILES_WAREHOUSE", "../data/warehouse/profiles.duckdb"))
# Read-only: the pipeline can keep writing while this notebook reads.
con = duckdb.connect(str(WAREHOUSE), read_only=True)
con.execute("SET search_path = 'marts,staging,raw'")


def sql(query: str, *params) -> pd.DataFrame:
    return con.execute(query, list(params)).fetchdf()


COUNCIL = os.environ.get("PROFILES_COUNCIL") or sql(
    "SELECT council_code FROM dim_locality GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1"
).iloc[0, 0]
VINTAGE = sql("SELECT max(vintage) FROM fct_simd").iloc[0, 0]
print(f"warehouse {WAREHOUSE}, council {COUNCIL}, SIMD {VINTAGE}")'''


def inequality_notebook() -> nbformat.NotebookNode:
    return new_notebook(cells=[
        new_markdown_cell(
            "# Inequality deep-dive\n\n"
            "How income deprivation varies with area deprivation inside one council: the "
            "quintile gradient, the Slope and Relative Indices of Inequality, and a "
            "concentration curve. SIMD ranks **areas, not people**: read gradients as "
            "differences between kinds of place."
        ),
        new_code_cell(SETUP),
        new_markdown_cell(
            "## Quintile gradient\nRates are aggregated from numerators and denominators "
            "within each national SIMD quintile, never averaged across data zones."
        ),
        new_code_cell('''gradient = sql("""
    SELECT s.quintile, sum(i.numerator) AS income_deprived, sum(i.denominator) AS population,
           sum(i.numerator) / sum(i.denominator) AS income_rate
    FROM fct_indicator AS i
    JOIN fct_simd AS s ON s.dz_code = i.dz_code AND s.vintage = i.vintage AND s.domain = 'overall'
    JOIN dim_datazone AS d ON d.dz_code = i.dz_code
    WHERE i.indicator = 'income_rate' AND i.vintage = ? AND d.council_code = ?
    GROUP BY 1 ORDER BY 1""", VINTAGE, COUNCIL)
assert gradient["income_rate"].between(0, 1).all()
px.bar(gradient, x="quintile", y="income_rate",
       labels={"quintile": "National SIMD quintile (1 = most deprived)",
               "income_rate": "Share income deprived"},
       title="Income deprivation by SIMD quintile").show()
gradient'''),
        new_markdown_cell(
            "## SII and RII\nFrom `locality_inequality`. `rii_scotpho` is SII / mean rate "
            "(ScotPHO); `rii_phe` is the fitted most-deprived end over the fitted "
            "least-deprived end (the inverse of PHE's default orientation)."
        ),
        new_code_cell('''indices = sql("""
    SELECT locality_id, n_data_zones, value, sii, sii_lower, sii_upper,
           rii_scotpho, rii_phe, par_percent, sii_note
    FROM locality_inequality
    WHERE indicator = 'income_rate' AND vintage = ? AND council_code = ?
    ORDER BY area_level, sii DESC""", VINTAGE, COUNCIL)
indices'''),
        new_markdown_cell(
            "## Concentration curve\nCumulative share of income-deprived people against "
            "cumulative share of population, data zones ordered from most to least deprived. "
            "The further above the diagonal, the more concentrated deprivation is."
        ),
        new_code_cell('''zones = sql("""
    SELECT s.rank, i.numerator, i.denominator
    FROM fct_indicator AS i
    JOIN fct_simd AS s ON s.dz_code = i.dz_code AND s.vintage = i.vintage AND s.domain = 'overall'
    JOIN dim_datazone AS d ON d.dz_code = i.dz_code
    WHERE i.indicator = 'income_rate' AND i.vintage = ? AND d.council_code = ?
      AND i.numerator IS NOT NULL
    ORDER BY s.rank""", VINTAGE, COUNCIL)
zones["cum_population"] = zones["denominator"].cumsum() / zones["denominator"].sum()
zones["cum_deprived"] = zones["numerator"].cumsum() / zones["numerator"].sum()
# Concentration index: twice the area between the curve and the diagonal.
x = pd.concat([pd.Series([0.0]), zones["cum_population"]]).to_numpy()
y = pd.concat([pd.Series([0.0]), zones["cum_deprived"]]).to_numpy()
area = ((x[1:] - x[:-1]) * (y[1:] + y[:-1]) / 2).sum()
concentration_index = 2 * area - 1
print(f"concentration index {concentration_index:.3f}")
assert 0 <= concentration_index <= 1
px.line(zones, x="cum_population", y="cum_deprived",
        labels={"cum_population": "Cumulative share of population (most deprived first)",
                "cum_deprived": "Cumulative share of income-deprived people"},
        title="Concentration of income deprivation").show()'''),
    ])


def change_notebook() -> nbformat.NotebookNode:
    return new_notebook(cells=[
        new_markdown_cell(
            "# Change between SIMD 2016 and SIMD 2020v2, the right way\n\n"
            "SIMD ranks are relative within each release: a data zone moving from rank 500 "
            "to rank 600 may not have changed at all. Vintages are compared **only** through "
            "shares of data zones or people in the most deprived bands. This notebook never "
            "subtracts ranks."
        ),
        new_code_cell(SETUP),
        new_code_cell('''change = sql("""
    SELECT l.locality_name, p.measure_id, p.value AS change_points
    FROM locality_profile AS p
    LEFT JOIN dim_locality AS l USING (council_code, locality_id)
    WHERE p.council_code = ? AND p.vintage = '2016_to_2020v2'
      AND p.measure_id IN ('simd_overall_dz_share_most_deprived_20_change',
                           'simd_overall_pop_share_most_deprived_20_change')
    ORDER BY p.measure_id, p.value DESC""", COUNCIL)
assert not change.empty, "both vintages are needed"
change["change_points"] = (change["change_points"] * 100).round(1)
change'''),
        new_code_cell('''shares = sql("""
    SELECT coalesce(l.locality_name, p.locality_id) AS area, p.vintage, p.value AS share
    FROM locality_profile AS p
    LEFT JOIN dim_locality AS l USING (council_code, locality_id)
    WHERE p.council_code = ? AND p.vintage IN ('2016', '2020v2')
      AND p.measure_id = 'simd_overall_dz_share_most_deprived_20'
    ORDER BY area, vintage""", COUNCIL)
px.bar(shares, x="area", y="share", color="vintage", barmode="group",
       color_discrete_sequence=["#0072B2", "#E69F00"],
       labels={"share": "Share of data zones in Scotland's 20% most deprived"},
       title="Local share in the 20% most deprived, by SIMD vintage").show()'''),
        new_code_cell('''# Rank differences between vintages are deliberately absent.
rank_rows = sql("SELECT count(*) FROM locality_profile WHERE measure_id LIKE '%rank%'")
assert rank_rows.iloc[0, 0] == 0'''),
    ])


def voice_notebook() -> nbformat.NotebookNode:
    return new_notebook(cells=[
        new_markdown_cell(
            "# Voice and data for one locality\n\n"
            "What the statistics say about a locality, what its residents said, and where "
            "the two agree. Quotes are redacted, small cells suppressed."
        ),
        new_code_cell(SETUP),
        new_code_cell('''LOCALITY = os.environ.get("PROFILES_LOCALITY") or sql(
    "SELECT locality_id FROM locality_summary WHERE council_code = ? AND area_level = 'locality' "
    "ORDER BY people_share_most_deprived_20 DESC NULLS LAST LIMIT 1", COUNCIL).iloc[0, 0]
sql("SELECT * FROM locality_summary WHERE council_code = ? AND locality_id = ? AND vintage = ?",
    COUNCIL, LOCALITY, VINTAGE).T'''),
        new_code_cell('''tables = set(sql("SELECT table_name FROM information_schema.tables").table_name)
if "voice_theme_summary" in tables:
    voice = sql("""
        SELECT theme_id, responses, mean_score, low_score_share, mention_share, suppressed
        FROM voice_theme_summary
        WHERE council_code = ? AND locality_id = ? AND weighting = 'weighted'
        ORDER BY mean_score""", COUNCIL, LOCALITY)
    display(voice)
else:
    print("no survey loaded yet")'''),
        new_code_cell('''if "priority_ranking" in tables:
    ranking = sql("""
        SELECT rank, priority_theme, need_score, voice_score, strategic_score, priority_score,
               rank_low, rank_high, stability, agreement
        FROM priority_ranking WHERE council_code = ? AND locality_id = ? ORDER BY rank""",
        COUNCIL, LOCALITY)
    display(ranking)
    px.scatter(ranking, x="need_score", y="voice_score", text="priority_theme",
               color="agreement", title="Need (data) against voice (community)").show()
else:
    print("no priority ranking yet")'''),
    ])


def main() -> None:
    notebooks = {
        "inequality_deep_dive.ipynb": inequality_notebook(),
        "simd_change_2016_2020v2.ipynb": change_notebook(),
        "voice_vs_data_locality.ipynb": voice_notebook(),
    }
    for name, notebook in notebooks.items():
        notebook.metadata["kernelspec"] = {
            "name": "python3", "display_name": "Python 3", "language": "python"
        }
        nbformat.write(notebook, HERE / name)


if __name__ == "__main__":
    main()
