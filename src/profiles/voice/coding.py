"""Theme coding of free-text comments against the Place Standard coding frame.

What belongs here: reading the coding frame (`data/config/coding/frame.yaml`) and the
analyst-coded examples (`analyst_codes.csv`); training a multi-label theme model (TF-IDF
word and within-word character n-grams, one logistic regression per theme, a tuned
probability threshold per theme); coding comments with an audit trail (analyst codes
override the model for the whole comment); cross-validated and held-out quality figures;
and emergent topics (NMF) among comments the frame does not fit. Duplicate and campaign
detection is `duplicates`.

Speed: text is featurised once per distinct word rather than per character window
(character n-grams of a comment are the sum of its words' n-grams, computed for each
distinct word of a batch), so coding runs at well over 20,000 comments a second on one
core and the model is just two sparse matrix products.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import numpy as np
import pandas as pd
import yaml
from scipy.sparse import csr_matrix, hstack
from scipy.special import expit
from sklearn.decomposition import NMF
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import precision_recall_fscore_support
from sklearn.model_selection import GroupKFold

from profiles.errors import ConfigError, SourceFormatError
from profiles.voice.contract import COMMENT_CODE_COLUMNS, NO_THEME, PLACE_STANDARD_THEMES
from profiles.voice.duplicates import near_duplicate_groups, word_tokens
from profiles.voice.vectors import sparse_counts, weigh_rows

FRAME_FILE: Final = "frame.yaml"
ANALYST_CODES_FILE: Final = "analyst_codes.csv"
ANALYST_CODE_COLUMNS: Final[tuple[str, ...]] = (
    "survey_id",
    "response_id",
    "question",
    "text",
    "theme_id",
    "coder",
    "coded_at",
)
COMMENT_KEY: Final[tuple[str, ...]] = ("survey_id", "response_id", "question")
PREDICTION_COLUMNS: Final[tuple[str, ...]] = ("row", "theme_id", "confidence")
QUALITY_COLUMNS: Final[tuple[str, ...]] = ("theme_id", "precision", "recall", "f1", "support")
TOPIC_COLUMNS: Final[tuple[str, ...]] = ("topic", "top_terms", "n_comments", "example_ids")
MODEL_KIND: Final = "tfidf-ovr"
# Comments this similar (character n-gram cosine) stay in the same cross-validation fold.
GROUPING_SIMILARITY: Final = 0.8


# --- the coding frame -----------------------------------------------------------------


@dataclass(frozen=True)
class Theme:
    """One code of the frame: a Place Standard theme or `none`."""

    theme_id: str
    label: str
    description: str
    seeds: tuple[str, ...]


@dataclass(frozen=True)
class ModelParams:
    """Model settings kept in the frame file (so they version with it)."""

    word_ngrams: tuple[int, int] = (1, 2)
    char_ngrams: tuple[int, int] = (3, 5)
    regularisation_c: float = 4.0
    seed_weight: float = 1.0
    default_threshold: float = 0.5
    threshold_grid: tuple[float, ...] = (0.3, 0.4, 0.5, 0.6)
    threshold_folds: int = 3
    min_positives_for_tuning: int = 8

    def as_dict(self) -> dict[str, Any]:
        return {
            "word_ngrams": list(self.word_ngrams),
            "char_ngrams": list(self.char_ngrams),
            "regularisation_c": self.regularisation_c,
            "seed_weight": self.seed_weight,
            "default_threshold": self.default_threshold,
            "threshold_grid": list(self.threshold_grid),
            "threshold_folds": self.threshold_folds,
            "min_positives_for_tuning": self.min_positives_for_tuning,
        }


@dataclass(frozen=True)
class CodingFrame:
    """The coding frame: the 14 themes (contract order) and `none`, with model settings.

    `sha256` is the hash of the frame file's bytes; it feeds the model version.
    """

    version: str
    themes: tuple[Theme, ...]
    params: ModelParams
    sha256: str
    path: Path | None = None

    @property
    def theme_ids(self) -> tuple[str, ...]:
        """The 14 Place Standard theme ids (not `none`), in contract order."""
        return tuple(theme.theme_id for theme in self.themes if theme.theme_id != NO_THEME)

    def theme(self, theme_id: str) -> Theme:
        for theme in self.themes:
            if theme.theme_id == theme_id:
                return theme
        raise KeyError(theme_id)


def _coding_dir(config_dir: str | Path) -> Path:
    """`data/config` or `data/config/coding` both work."""
    path = Path(config_dir)
    return path if (path / FRAME_FILE).is_file() else path / "coding"


def _params_from_mapping(raw: dict[str, Any], source: str) -> ModelParams:
    try:
        params = ModelParams(
            word_ngrams=(int(raw["word_ngrams"][0]), int(raw["word_ngrams"][1])),
            char_ngrams=(int(raw["char_ngrams"][0]), int(raw["char_ngrams"][1])),
            regularisation_c=float(raw["regularisation_c"]),
            seed_weight=float(raw["seed_weight"]),
            default_threshold=float(raw["default_threshold"]),
            threshold_grid=tuple(float(value) for value in raw["threshold_grid"]),
            threshold_folds=int(raw["threshold_folds"]),
            min_positives_for_tuning=int(raw["min_positives_for_tuning"]),
        )
    except (KeyError, TypeError, ValueError, IndexError) as error:
        raise ConfigError(f"{source}: model settings invalid ({error!r})") from error
    if params.word_ngrams not in ((1, 1), (1, 2)):
        raise ConfigError(f"{source}: model.word_ngrams must be [1, 1] or [1, 2]")
    if not 1 <= params.char_ngrams[0] <= params.char_ngrams[1]:
        raise ConfigError(f"{source}: model.char_ngrams must be [min, max] with 1 <= min <= max")
    if not all(0 < value < 1 for value in (*params.threshold_grid, params.default_threshold)):
        raise ConfigError(f"{source}: thresholds must lie strictly between 0 and 1")
    if params.threshold_folds < 2:
        raise ConfigError(f"{source}: model.threshold_folds must be at least 2")
    return params


def load_coding_frame(config_dir: str | Path) -> CodingFrame:
    """Read and check `coding/frame.yaml` under `config_dir` (or directly in it).

    The frame must define exactly the 14 Place Standard themes and `none`, each with a
    label, a description and at least one seed; raises `ConfigError` otherwise.
    """
    path = _coding_dir(config_dir) / FRAME_FILE
    try:
        data = path.read_bytes()
        raw = yaml.safe_load(data)
    except (OSError, yaml.YAMLError) as error:
        raise ConfigError(f"{path}: cannot read coding frame ({error})") from error
    if not isinstance(raw, dict) or not isinstance(raw.get("themes"), list):
        raise ConfigError(f"{path}: coding frame must be a mapping with a 'themes' list")
    themes: dict[str, Theme] = {}
    for position, entry in enumerate(raw["themes"], 1):
        where = f"{path}: theme #{position}"
        if not isinstance(entry, dict):
            raise ConfigError(f"{where}: must be a mapping")
        theme_id = str(entry.get("id", ""))
        if theme_id not in (*PLACE_STANDARD_THEMES, NO_THEME):
            raise ConfigError(f"{where}: unknown theme id {theme_id!r}")
        if theme_id in themes:
            raise ConfigError(f"{where}: theme {theme_id!r} defined twice")
        seeds = tuple(str(seed).strip() for seed in entry.get("seeds") or () if str(seed).strip())
        label, description = str(entry.get("label", "")).strip(), str(entry.get("description", ""))
        if not label or not description.strip() or not seeds:
            raise ConfigError(f"{where} ({theme_id}): needs a label, a description and seeds")
        themes[theme_id] = Theme(theme_id, label, description.strip(), seeds)
    missing = [theme for theme in (*PLACE_STANDARD_THEMES, NO_THEME) if theme not in themes]
    if missing:
        raise ConfigError(f"{path}: coding frame lacks themes {missing}")
    return CodingFrame(
        version=str(raw.get("version", "")),
        themes=tuple(themes[theme] for theme in (*PLACE_STANDARD_THEMES, NO_THEME)),
        params=_params_from_mapping(raw.get("model") or {}, str(path)),
        sha256=hashlib.sha256(data).hexdigest(),
        path=path,
    )


# --- analyst codes --------------------------------------------------------------------


def validate_analyst_codes(
    codes: pd.DataFrame, source: str | Path = "analyst codes"
) -> pd.DataFrame:
    """Check analyst codes (long: one row per comment x theme) and return them as strings.

    Raises `SourceFormatError` naming the line (header = 1) and field of the first
    problem: a missing column, a blank key, text or coder, an unknown theme id, an
    unparseable `coded_at`, a comment coded both `none` and a theme, or one comment key
    carrying two different texts.
    """
    missing = [column for column in ANALYST_CODE_COLUMNS if column not in codes.columns]
    if missing:
        raise SourceFormatError(source, f"missing columns {missing}", row=1)
    table = codes[list(ANALYST_CODE_COLUMNS)].astype("string").fillna("")
    table = table.apply(lambda column: column.str.strip())
    table["text"] = codes["text"].astype("string").fillna("")
    allowed = {*PLACE_STANDARD_THEMES, NO_THEME}
    for position, row in enumerate(table.itertuples(index=False)):
        line = position + 2
        for column in ("survey_id", "response_id", "question", "text", "coder", "coded_at"):
            if not str(getattr(row, column)).strip():
                raise SourceFormatError(source, "blank value", row=line, field=column)
        if row.theme_id not in allowed:
            raise SourceFormatError(
                source, f"unknown theme id {row.theme_id!r}", row=line, field="theme_id"
            )
    dates = pd.to_datetime(table["coded_at"], errors="coerce", format="mixed")
    if dates.isna().any():
        line = int(np.flatnonzero(dates.isna().to_numpy())[0]) + 2
        raise SourceFormatError(source, "coded_at is not a date", row=line, field="coded_at")
    key = table[list(COMMENT_KEY)].agg("\x1f".join, axis=1)
    texts_per_key = table.groupby(key)["text"].nunique()
    if (texts_per_key > 1).any():
        bad = texts_per_key[texts_per_key > 1].index[0]
        line = int(np.flatnonzero((key == bad).to_numpy())[1]) + 2
        raise SourceFormatError(
            source, "comment coded with two different texts", row=line, field="text"
        )
    has_none = table["theme_id"] == NO_THEME
    themes_per_key = table[~has_none].groupby(key[~has_none]).size()
    conflicting = has_none & key.isin(themes_per_key.index)
    if conflicting.any():
        line = int(np.flatnonzero(conflicting.to_numpy())[0]) + 2
        raise SourceFormatError(
            source, "comment coded both 'none' and a theme", row=line, field="theme_id"
        )
    return table


def load_analyst_codes(config_dir: str | Path) -> pd.DataFrame:
    """Read and check `coding/analyst_codes.csv` (UTF-8) under `config_dir`."""
    path = _coding_dir(config_dir) / ANALYST_CODES_FILE
    try:
        codes = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
    except (OSError, UnicodeDecodeError, pd.errors.ParserError) as error:
        raise SourceFormatError(path, f"cannot read analyst codes ({error})") from error
    return validate_analyst_codes(codes, path)


def _comment_examples(
    codes: pd.DataFrame, theme_ids: Sequence[str]
) -> tuple[pd.DataFrame, np.ndarray]:
    """One row per coded comment (key columns and text) and its label matrix."""
    if codes.empty:
        return pd.DataFrame(columns=[*COMMENT_KEY, "text"]), np.zeros((0, len(theme_ids)), bool)
    table = codes.astype({column: "string" for column in (*COMMENT_KEY, "theme_id")})
    grouped = table.groupby(list(COMMENT_KEY), sort=False)
    examples = grouped["text"].first().reset_index()
    theme_sets = grouped["theme_id"].agg(frozenset).to_numpy()
    labels = np.array([[theme in themes for theme in theme_ids] for themes in theme_sets], bool)
    return examples, labels.reshape(len(examples), len(theme_ids))


def _seed_examples(frame: CodingFrame) -> tuple[list[str], np.ndarray]:
    """The seed phrases (and each theme's label) as short training texts."""
    texts: list[str] = []
    rows: list[int] = []
    for theme in frame.themes:
        index = frame.theme_ids.index(theme.theme_id) if theme.theme_id != NO_THEME else -1
        phrases = theme.seeds if theme.theme_id == NO_THEME else (theme.label, *theme.seeds)
        texts.extend(phrases)
        rows.extend([index] * len(phrases))
    labels = np.zeros((len(texts), len(frame.theme_ids)), bool)
    for position, index in enumerate(rows):
        if index >= 0:
            labels[position, index] = True
    return texts, labels


# --- features -------------------------------------------------------------------------


def _inverse_document_frequency(counts: csr_matrix) -> np.ndarray:
    """Smoothed idf, as scikit-learn's TfidfTransformer computes it."""
    frequency = np.bincount(counts.indices, minlength=counts.shape[1])
    return np.log((1 + counts.shape[0]) / (1 + frequency)) + 1.0


@dataclass(eq=False)
class TextFeatures:
    """TF-IDF of word n-grams and of character n-grams within words, each block
    L2-normalised, fitted on the training texts.

    A comment's character n-gram counts are the sum of its words' counts (the n-grams
    never cross a word boundary), so n-grams are extracted once per distinct word of a
    batch and summed with one sparse product.
    """

    word_ngrams: tuple[int, int]
    char_ngrams: tuple[int, int]
    words: pd.Index = field(default_factory=lambda: pd.Index([], dtype=object))
    bigrams: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))
    chars: CountVectorizer | None = None
    word_idf: np.ndarray = field(default_factory=lambda: np.empty(0))
    char_idf: np.ndarray = field(default_factory=lambda: np.empty(0))

    def _counts(self, texts: Sequence[object]) -> tuple[csr_matrix, csr_matrix]:
        """Raw counts: word unigrams then known bigrams; character n-grams."""
        assert self.chars is not None
        documents, codes, distinct = word_tokens(texts)
        n_docs, n_words = len(texts), len(self.words)
        word_of_token = self.words.get_indexer(distinct)[codes] if len(codes) else codes
        known = word_of_token >= 0
        rows, columns = [documents[known]], [word_of_token[known]]
        if self.word_ngrams[1] == 2:
            keys, pair_docs = _bigram_keys(documents, word_of_token, n_words)
            position = np.searchsorted(self.bigrams, keys)
            found = position < len(self.bigrams)
            found[found] = self.bigrams[position[found]] == keys[found]
            rows.append(pair_docs[found])
            columns.append(n_words + position[found])
        shape = (n_docs, n_words + len(self.bigrams))
        word_counts = sparse_counts(np.concatenate(rows), np.concatenate(columns), shape)
        per_word = self.chars.transform(distinct)
        doc_word = sparse_counts(documents, codes, (n_docs, len(distinct)))
        return word_counts, (doc_word @ per_word).tocsr()

    def fit(self, texts: Sequence[object]) -> TextFeatures:
        documents, codes, distinct = word_tokens(texts)
        self.words = pd.Index(np.sort(distinct.astype(str)), dtype=object)
        if self.word_ngrams[1] == 2:
            word_of_token = self.words.get_indexer(distinct)[codes]
            keys, _ = _bigram_keys(documents, word_of_token, len(self.words))
            self.bigrams = np.unique(keys)
        self.chars = CountVectorizer(
            analyzer="char_wb", ngram_range=self.char_ngrams, lowercase=False, dtype=np.float64
        ).fit(self.words.to_numpy())
        word_counts, char_counts = self._counts(texts)
        self.word_idf = _inverse_document_frequency(word_counts)
        self.char_idf = _inverse_document_frequency(char_counts)
        return self

    def transform_blocks(self, texts: Sequence[object]) -> tuple[csr_matrix, csr_matrix]:
        """The word block and the character block, each row of unit length."""
        word_counts, char_counts = self._counts(texts)
        return weigh_rows(word_counts, self.word_idf), weigh_rows(char_counts, self.char_idf)

    def transform(self, texts: Sequence[object]) -> csr_matrix:
        return hstack(self.transform_blocks(texts), format="csr")

    @property
    def n_word_features(self) -> int:
        return len(self.words) + len(self.bigrams)


def _bigram_keys(
    documents: np.ndarray, word_of_token: np.ndarray, n_words: int
) -> tuple[np.ndarray, np.ndarray]:
    """Integer key (first * n_words + second) and document of each known adjacent pair."""
    if len(documents) < 2:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    first, second = word_of_token[:-1], word_of_token[1:]
    valid = (documents[:-1] == documents[1:]) & (first >= 0) & (second >= 0)
    return first[valid] * n_words + second[valid], documents[:-1][valid]


# --- the model ------------------------------------------------------------------------


@dataclass(eq=False)
class ThemeModel:
    """A trained theme model. `version` (e.g. 'tfidf-ovr:3f9c0a1b2d4e') identifies the
    frame file, training data and parameters it was built from; codes it makes carry
    `source` = 'model:<version>'."""

    version: str
    theme_ids: tuple[str, ...]
    features: TextFeatures
    coefficients: np.ndarray  # (n_features, n_themes)
    intercepts: np.ndarray  # (n_themes,)
    thresholds: np.ndarray  # (n_themes,) probability a theme needs to be coded
    training_comments: int
    seed_phrases: int

    @property
    def source(self) -> str:
        return f"model:{self.version}"

    def predict_proba(self, texts: Sequence[object]) -> np.ndarray:
        """Probability of each theme (n_texts x 14), in `theme_ids` order."""
        words, chars = self.features.transform_blocks(list(texts))
        split = self.features.n_word_features
        linear = words @ self.coefficients[:split] + chars @ self.coefficients[split:]
        return expit(np.asarray(linear) + self.intercepts)

    def predict(self, texts: Sequence[object]) -> pd.DataFrame:
        """Codes per text: one row per theme whose probability reaches its threshold, or
        one `none` row (confidence = 1 - the highest theme probability) when none does.
        `row` is the text's position in `texts`."""
        return _codes_from_probabilities(self.predict_proba(texts), self.thresholds, self.theme_ids)

    def metadata(self) -> dict[str, Any]:
        """Version, training sizes and per-theme thresholds, for asset metadata."""
        return {
            "model_version": self.version,
            "training_comments": self.training_comments,
            "seed_phrases": self.seed_phrases,
            "thresholds": {
                theme: round(float(value), 3)
                for theme, value in zip(self.theme_ids, self.thresholds, strict=True)
            },
        }


def _codes_from_probabilities(
    probabilities: np.ndarray, thresholds: np.ndarray, theme_ids: Sequence[str]
) -> pd.DataFrame:
    passing = probabilities >= thresholds
    rows, columns = np.nonzero(passing)
    uncoded = np.flatnonzero(~passing.any(axis=1))
    top = probabilities[uncoded].max(axis=1) if probabilities.shape[1] else np.zeros(len(uncoded))
    all_rows = np.concatenate([rows, uncoded])
    all_columns = np.concatenate([columns, np.full(len(uncoded), len(theme_ids))])
    confidence = np.concatenate([probabilities[rows, columns], 1.0 - top])
    order = np.lexsort((all_columns, all_rows))
    labels = np.array([*theme_ids, NO_THEME], dtype=object)
    return pd.DataFrame(
        {
            "row": all_rows[order].astype(np.int64),
            "theme_id": labels[all_columns[order]],
            "confidence": confidence[order].astype(np.float64),
        }
    )


def _fit_weights(
    features: csr_matrix,
    labels: np.ndarray,
    sample_weight: np.ndarray,
    params: ModelParams,
    seed: int,
) -> tuple[np.ndarray, np.ndarray]:
    """One balanced L2 logistic regression per theme, stacked into one weight matrix."""
    n_features, n_themes = features.shape[1], labels.shape[1]
    coefficients = np.zeros((n_features, n_themes))
    intercepts = np.zeros(n_themes)
    for column in range(n_themes):
        target = labels[:, column]
        if target.all() or not target.any():
            intercepts[column] = 10.0 if target.all() else -10.0
            continue
        classifier = LogisticRegression(
            C=params.regularisation_c,
            class_weight="balanced",
            solver="liblinear",
            random_state=seed,
            max_iter=1000,
        ).fit(features, target, sample_weight=sample_weight)
        coefficients[:, column] = classifier.coef_[0]
        intercepts[column] = classifier.intercept_[0]
    return coefficients, intercepts


def _fit(
    frame: CodingFrame, texts: list[str], labels: np.ndarray, weights: np.ndarray, seed: int
) -> tuple[TextFeatures, np.ndarray, np.ndarray]:
    features = TextFeatures(frame.params.word_ngrams, frame.params.char_ngrams).fit(texts)
    coefficients, intercepts = _fit_weights(
        features.transform(texts), labels, weights, frame.params, seed
    )
    return features, coefficients, intercepts


def _training_set(
    frame: CodingFrame, examples: pd.DataFrame, labels: np.ndarray
) -> tuple[list[str], np.ndarray, np.ndarray]:
    seed_texts, seed_labels = _seed_examples(frame)
    texts = [*seed_texts, *examples["text"].astype(str)]
    weights = np.concatenate(
        [np.full(len(seed_texts), frame.params.seed_weight), np.ones(len(examples))]
    )
    return texts, np.vstack([seed_labels, labels]), weights


def _fold_splits(groups: np.ndarray, folds: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    splits = min(folds, len(np.unique(groups)))
    if splits < 2:
        return []
    splitter = GroupKFold(n_splits=splits, shuffle=True, random_state=seed)
    return list(splitter.split(np.zeros(len(groups)), groups=groups))


def _out_of_fold_probabilities(
    frame: CodingFrame, examples: pd.DataFrame, labels: np.ndarray, folds: int, seed: int
) -> np.ndarray | None:
    """Probabilities for each analyst-coded comment from models that never saw it (or
    its near-duplicates); seed phrases are in every training fold."""
    groups = near_duplicate_groups(examples["text"], threshold=GROUPING_SIMILARITY, seed=seed)
    splits = _fold_splits(groups, folds, seed)
    if not splits:
        return None
    probabilities = np.zeros(labels.shape)
    for train, test in splits:
        texts, train_labels, weights = _training_set(frame, examples.iloc[train], labels[train])
        features, coefficients, intercepts = _fit(frame, texts, train_labels, weights, seed)
        matrix = features.transform(examples["text"].iloc[test].astype(str).tolist())
        probabilities[test] = expit(np.asarray(matrix @ coefficients) + intercepts)
    return probabilities


def _tune_thresholds(
    frame: CodingFrame, examples: pd.DataFrame, labels: np.ndarray, seed: int
) -> np.ndarray:
    """Per theme, the grid threshold with the best out-of-fold F1 (ties go to the one
    nearest the default); the default where a theme has too few coded examples."""
    params = frame.params
    thresholds = np.full(labels.shape[1], params.default_threshold)
    probabilities = _out_of_fold_probabilities(
        frame, examples, labels, params.threshold_folds, seed
    )
    if probabilities is None:
        return thresholds
    grid = sorted(params.threshold_grid, key=lambda value: abs(value - params.default_threshold))
    for column in range(labels.shape[1]):
        if labels[:, column].sum() < params.min_positives_for_tuning:
            continue
        scores = f1_by_threshold(labels[:, column], probabilities[:, column], grid)
        thresholds[column] = grid[int(np.argmax(scores))]
    return thresholds


def f1_by_threshold(
    truth: np.ndarray, probability: np.ndarray, grid: Sequence[float]
) -> np.ndarray:
    """F1 of predicting `probability >= t` against 0/1 `truth`, for each t of `grid`.

    The same numbers as sklearn's `f1_score(truth, probability >= t, zero_division=0)`,
    which it computes as 2·TP / (positives + predicted), for all thresholds at once: called
    threshold by threshold, sklearn's input checks were most of a training run's time.
    """
    positive = np.asarray(truth).astype(bool)
    predicted = np.asarray(probability)[None, :] >= np.asarray(grid, dtype=float)[:, None]
    true_positives = (predicted & positive).sum(axis=1).astype(float)
    denominator = float(positive.sum()) + predicted.sum(axis=1).astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(denominator > 0, 2.0 * true_positives / denominator, 0.0)


def _model_version(frame: CodingFrame, analyst_codes: pd.DataFrame, seed: int) -> str:
    """Short hash of the frame file, the training data (not who coded it or when) and the
    parameters: equal inputs give the same version on any machine."""
    columns = [*COMMENT_KEY, "text", "theme_id"]
    data = analyst_codes[columns].astype(str).sort_values(columns).to_csv(index=False)
    digest = hashlib.sha256()
    for part in (frame.sha256, data, json.dumps(frame.params.as_dict(), sort_keys=True), str(seed)):
        digest.update(part.encode("utf-8"))
        digest.update(b"\x00")
    return f"{MODEL_KIND}:{digest.hexdigest()[:12]}"


def _training_codes(analyst_codes: pd.DataFrame) -> pd.DataFrame:
    codes = validate_analyst_codes(analyst_codes) if len(analyst_codes) else analyst_codes
    if codes.empty:
        codes = pd.DataFrame(columns=list(ANALYST_CODE_COLUMNS), dtype=str)
    return codes


def model_version(frame: CodingFrame, analyst_codes: pd.DataFrame, *, seed: int = 0) -> str:
    """The version `train_theme_model` gives these inputs, known without training."""
    return _model_version(frame, _training_codes(analyst_codes), seed)


def train_theme_model(
    frame: CodingFrame, analyst_codes: pd.DataFrame, *, seed: int = 0
) -> ThemeModel:
    """Train the theme model on the frame's seed phrases plus the analyst-coded comments.

    `analyst_codes` is long (`ANALYST_CODE_COLUMNS`, one row per comment x theme; a
    comment coded only `none` is a negative example for every theme). Thresholds are
    tuned per theme on out-of-fold predictions grouped by near-duplicate text.
    Deterministic: the same inputs and seed give the same weights and version.
    """
    codes = _training_codes(analyst_codes)
    examples, labels = _comment_examples(codes, frame.theme_ids)
    thresholds = _tune_thresholds(frame, examples, labels, seed)
    texts, all_labels, weights = _training_set(frame, examples, labels)
    features, coefficients, intercepts = _fit(frame, texts, all_labels, weights, seed)
    return ThemeModel(
        version=_model_version(frame, codes, seed),
        theme_ids=frame.theme_ids,
        features=features,
        coefficients=coefficients,
        intercepts=intercepts,
        thresholds=thresholds,
        training_comments=len(examples),
        seed_phrases=len(texts) - len(examples),
    )


# --- coding comments ------------------------------------------------------------------


def _key_strings(table: pd.DataFrame) -> pd.Series:
    parts = [table[column].astype("string").fillna("").str.strip() for column in COMMENT_KEY]
    return parts[0].str.cat(parts[1:], sep="\x1f")


def _analyst_rows(codes: pd.DataFrame) -> pd.DataFrame:
    """Analyst codes per comment key: distinct themes (first coder listed wins), with
    `none` dropped where the same comment also has a theme."""
    table = codes.assign(_key=_key_strings(codes))
    table = table.drop_duplicates(["_key", "theme_id"], keep="first")
    themed = table.loc[table["theme_id"] != NO_THEME, "_key"]
    table = table[(table["theme_id"] != NO_THEME) | ~table["_key"].isin(themed)]
    return pd.DataFrame(
        {
            "_key": table["_key"].to_numpy(),
            "theme_id": table["theme_id"].astype(str).to_numpy(),
            "source": ("analyst:" + table["coder"].astype(str).str.strip()).to_numpy(),
            "confidence": 1.0,
        }
    )


def code_comments(
    comments: pd.DataFrame, model: ThemeModel, analyst_codes: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Theme codes for each comment (`COMMENT_COLUMNS` in, `COMMENT_CODE_COLUMNS` out).

    Where analysts coded the same (survey_id, response_id, question), their codes replace
    the model's entirely (source 'analyst:<coder>', confidence 1.0); every other comment
    gets the model's codes (source 'model:<version>', its probability as confidence).
    Blank comments get no codes. Rows follow the comments' order, themes in frame order.
    """
    table = comments[[*COMMENT_KEY, "text_redacted"]].reset_index(drop=True)
    has_text = table["text_redacted"].astype("string").fillna("").str.strip() != ""
    table = table[has_text.to_numpy()].assign(_key=lambda t: _key_strings(t))
    table["_order"] = np.arange(len(table))
    theme_order = {theme: index for index, theme in enumerate((*model.theme_ids, NO_THEME))}
    parts: list[pd.DataFrame] = []
    analysed = np.zeros(len(table), bool)
    if analyst_codes is not None and len(analyst_codes):
        analyst = _analyst_rows(analyst_codes)
        analysed = table["_key"].isin(analyst["_key"]).to_numpy()
        parts.append(table[analysed].merge(analyst, on="_key", how="inner"))
    to_model = table[~analysed]
    if len(to_model):
        codes, distinct = pd.factorize(to_model["text_redacted"].astype(str))
        predicted = model.predict(list(distinct))
        per_text = predicted.groupby("row")
        positions = per_text.indices
        expanded = np.concatenate([positions[code] for code in codes])
        repeats = np.array([len(positions[code]) for code in codes])
        parts.append(
            to_model.iloc[np.repeat(np.arange(len(to_model)), repeats)]
            .reset_index(drop=True)
            .assign(
                theme_id=predicted["theme_id"].to_numpy()[expanded],
                confidence=predicted["confidence"].to_numpy()[expanded],
                source=model.source,
            )
        )
    if not parts:
        return pd.DataFrame({column: pd.Series(dtype=object) for column in COMMENT_CODE_COLUMNS})
    result = pd.concat(parts, ignore_index=True)
    result["_theme"] = result["theme_id"].map(theme_order)
    result = result.sort_values(["_order", "_theme"], kind="stable")
    result["confidence"] = result["confidence"].astype(np.float64)
    return result[list(COMMENT_CODE_COLUMNS)].reset_index(drop=True)


# --- quality --------------------------------------------------------------------------


def _label_matrix(theme_sets: Sequence[Iterable[str]], theme_ids: Sequence[str]) -> np.ndarray:
    """Indicator matrix over the themes and `none` (set when no theme is)."""
    matrix = np.array(
        [[theme in set(themes) for theme in theme_ids] for themes in theme_sets], bool
    ).reshape(len(theme_sets), len(theme_ids))
    return np.column_stack([matrix, ~matrix.any(axis=1)])


def _quality(
    true_sets: Sequence[Iterable[str]],
    predicted_sets: Sequence[Iterable[str]],
    theme_ids: Sequence[str],
) -> pd.DataFrame:
    truth = _label_matrix(true_sets, theme_ids)
    predicted = _label_matrix(predicted_sets, theme_ids)
    precision, recall, f1, support = precision_recall_fscore_support(
        truth, predicted, average=None, zero_division=0
    )
    return pd.DataFrame(
        {
            "theme_id": [*theme_ids, NO_THEME],
            "precision": precision.astype(float),
            "recall": recall.astype(float),
            "f1": f1.astype(float),
            "support": support.astype(np.int64),
        }
    )


def macro_f1(quality: pd.DataFrame) -> float:
    """Mean F1 over the codes (themes and `none`) that occur in the evaluated set."""
    present = quality[quality["support"] > 0]
    return float(present["f1"].mean()) if len(present) else float("nan")


def _predicted_sets(model: ThemeModel, texts: Sequence[str]) -> list[set[str]]:
    predicted = model.predict(texts)
    sets: list[set[str]] = [set() for _ in texts]
    for row, theme in zip(predicted["row"], predicted["theme_id"], strict=True):
        if theme != NO_THEME:
            sets[row].add(theme)
    return sets


def cross_validate(
    frame: CodingFrame, analyst_codes: pd.DataFrame, folds: int = 5, *, seed: int = 0
) -> pd.DataFrame:
    """Cross-validated precision, recall, F1 and support per theme (and `none`).

    Folds are grouped so near-identical comments (character n-gram cosine >= 0.8) never
    sit on both sides of a split; each fold's model is trained exactly as
    `train_theme_model` trains (seed phrases, inner threshold tuning). Pooled over folds.
    """
    codes = validate_analyst_codes(analyst_codes)
    examples, labels = _comment_examples(codes, frame.theme_ids)
    groups = near_duplicate_groups(examples["text"], threshold=GROUPING_SIMILARITY, seed=seed)
    splits = _fold_splits(groups, folds, seed)
    if not splits:
        raise ValueError("cross-validation needs at least two distinct analyst-coded comments")
    keys = _key_strings(examples)
    code_keys = _key_strings(codes)
    predicted: list[set[str]] = [set() for _ in range(len(examples))]
    for train, test in splits:
        model = train_theme_model(
            frame, codes[code_keys.isin(keys.iloc[train]).to_numpy()], seed=seed
        )
        for position, themes in zip(
            test, _predicted_sets(model, examples["text"].iloc[test].tolist()), strict=True
        ):
            predicted[position] = themes
    truth = [
        {theme for theme, hit in zip(frame.theme_ids, row, strict=True) if hit} for row in labels
    ]
    return _quality(truth, predicted, frame.theme_ids)


def evaluate_held_out(model: ThemeModel, held_out: pd.DataFrame) -> pd.DataFrame:
    """Precision, recall, F1 and support per theme on comments the model never saw.

    `held_out` is long: `text` and `theme_id` (one row per comment x theme, `none` for a
    comment no theme fits), with an optional `comment_id` identifying the comment
    (otherwise the text does).
    """
    key = "comment_id" if "comment_id" in held_out.columns else "text"
    grouped = held_out.groupby(key, sort=False)
    texts = grouped["text"].first().astype(str).tolist()
    truth = [set(themes) - {NO_THEME} for themes in grouped["theme_id"].agg(list)]
    return _quality(truth, _predicted_sets(model, texts), model.theme_ids)


# --- emergent topics ------------------------------------------------------------------


def emergent_topics(
    texts: pd.Series | Sequence[str],
    n_topics: int = 5,
    *,
    seed: int = 0,
    n_terms: int = 6,
    n_examples: int = 3,
) -> pd.DataFrame:
    """Topics among comments coded `none`, for analysts to review as frame candidates.

    NMF on word (1-2 gram) TF-IDF with English stop words; each comment belongs to its
    strongest topic. Returns `TOPIC_COLUMNS`: topic number (1 = most comments), its top
    terms joined by ', ', how many comments it holds, and up to `n_examples` ids of its
    most typical comments (the Series index, else positions). Topics holding no comment
    are dropped; too few comments or words give an empty frame.
    """
    series = texts if isinstance(texts, pd.Series) else pd.Series(list(texts))
    series = series.astype("string").fillna("")
    series = series[series.str.strip() != ""]
    empty = pd.DataFrame({column: pd.Series(dtype=object) for column in TOPIC_COLUMNS})
    if len(series) < 2 or n_topics < 1:
        return empty
    vectoriser = TfidfVectorizer(
        stop_words="english",
        ngram_range=(1, 2),
        min_df=2 if len(series) >= 20 else 1,
        max_df=0.95,
        sublinear_tf=True,
        token_pattern=r"(?u)\b[^\W\d_]{3,}\b",
    )
    try:
        matrix = vectoriser.fit_transform(series.tolist())
    except ValueError:  # no term survives the stop words and document-frequency limits
        return empty
    components = min(n_topics, matrix.shape[0], matrix.shape[1])
    model = NMF(n_components=components, init="nndsvda", random_state=seed, max_iter=500)
    weights = model.fit_transform(matrix)
    terms = vectoriser.get_feature_names_out()
    strongest = weights.argmax(axis=1)
    assigned = weights.max(axis=1) > 0
    ids = series.index.astype(str).to_numpy()
    rows = []
    for topic in range(components):
        members = np.flatnonzero(assigned & (strongest == topic))
        if members.size == 0:
            continue
        typical = members[np.argsort(-weights[members, topic], kind="stable")][:n_examples]
        top_terms = terms[np.argsort(-model.components_[topic], kind="stable")[:n_terms]]
        rows.append((", ".join(top_terms), int(members.size), [str(ids[i]) for i in typical]))
    rows.sort(key=lambda row: -row[1])
    return pd.DataFrame(
        [(number, *row) for number, row in enumerate(rows, 1)], columns=list(TOPIC_COLUMNS)
    )
