"""Triangulation: priority rankings that set local data against community voice and city themes.

What belongs here: the package's public names and `triangulate`, which runs the steps in
order for one council. The steps live in their own modules:

- `config`       the versioned crosswalk, weights and thresholds (`data/config/themes/`)
- `scores`       need, voice and strategic scores, the priority score, agreement, ranks,
                 and the long `triangulation_matrix`
- `uncertainty`  bootstrap over responses and perturbed weights: rank intervals, stability
- `evidence`     the evidence trail of each ranked row and the `priority_ranking` mart

The method and a worked example are in `data/config/themes/README.md`.
"""

from __future__ import annotations

import pandas as pd

from profiles.triangulate.config import (
    TriangulationConfig,
    load_triangulation_config,
)
from profiles.triangulate.evidence import (
    PRIORITY_RANKING_COLUMNS,
    PRIORITY_RANKING_EXTRA_COLUMNS,
    evidence_for,
    priority_ranking,
    response_evidence,
)
from profiles.triangulate.scores import (
    AGREEMENT_LABELS,
    NEED_PROFILE_COLUMNS,
    TRIANGULATION_MATRIX_COLUMNS,
    agreement_category,
    rank_priorities,
    score_priorities,
    triangulation_matrix,
)
from profiles.triangulate.uncertainty import UNCERTAINTY_COLUMNS, bootstrap_ranks

__all__ = [
    "AGREEMENT_LABELS",
    "NEED_PROFILE_COLUMNS",
    "PRIORITY_RANKING_COLUMNS",
    "PRIORITY_RANKING_EXTRA_COLUMNS",
    "TRIANGULATION_MATRIX_COLUMNS",
    "UNCERTAINTY_COLUMNS",
    "TriangulationConfig",
    "agreement_category",
    "bootstrap_ranks",
    "evidence_for",
    "load_triangulation_config",
    "priority_ranking",
    "rank_priorities",
    "response_evidence",
    "score_priorities",
    "triangulate",
    "triangulation_matrix",
]


def triangulate(
    config: TriangulationConfig,
    *,
    profile: pd.DataFrame,
    theme_summary: pd.DataFrame,
    reach: pd.DataFrame | None,
    responses: pd.DataFrame,
    voice_scores: pd.DataFrame,
    codes: pd.DataFrame,
    comments: pd.DataFrame,
    dim_locality: pd.DataFrame | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(`priority_ranking`, `triangulation_matrix`) for `config.council_code`.

    `responses` are counted responses placed in localities (survey_id, response_id,
    council_code, locality_id, and `weight` = the survey weight behind the theme summary's
    weighted rows); see `bootstrap_ranks` and `response_evidence`.
    """
    scores = score_priorities(profile, theme_summary, reach, config, dim_locality=dim_locality)
    ranked = rank_priorities(scores, config)
    ranked = bootstrap_ranks(
        ranked,
        responses,
        voice_scores,
        codes,
        config,
        theme_summary=theme_summary,
        comments=comments,
    )
    evidence = response_evidence(responses, codes, comments, theme_summary, config)
    return priority_ranking(ranked, config, evidence), triangulation_matrix(ranked, config)
