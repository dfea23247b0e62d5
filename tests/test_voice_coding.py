"""Theme coding (profiles.voice.coding) and duplicate/campaign flags (profiles.voice.duplicates).

Quality floors sit a little below the figures measured when the model settings were
frozen (cross-validated macro-F1 0.843, held-out 0.679, Dundee Decides titles 37/42), so
a change that makes coding worse fails here.
"""

from __future__ import annotations

import re
import shutil
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from profiles.errors import ConfigError, SourceFormatError
from profiles.voice.coding import (
    ANALYST_CODE_COLUMNS,
    QUALITY_COLUMNS,
    TOPIC_COLUMNS,
    ThemeModel,
    code_comments,
    cross_validate,
    emergent_topics,
    evaluate_held_out,
    load_analyst_codes,
    load_coding_frame,
    macro_f1,
    train_theme_model,
    validate_analyst_codes,
)
from profiles.voice.contract import COMMENT_CODE_COLUMNS, NO_THEME, PLACE_STANDARD_THEMES
from profiles.voice.duplicates import DUPLICATE_COLUMNS, flag_duplicates, near_duplicate_groups

REPO = Path(__file__).resolve().parents[1]
CONFIG = REPO / "data" / "config"
HOLDOUT = REPO / "tests" / "data" / "coding_holdout.csv"


@pytest.fixture(scope="module")
def frame():
    return load_coding_frame(CONFIG)


@pytest.fixture(scope="module")
def analyst_codes() -> pd.DataFrame:
    return load_analyst_codes(CONFIG)


@pytest.fixture(scope="module")
def model(frame, analyst_codes) -> ThemeModel:
    return train_theme_model(frame, analyst_codes, seed=0)


def _themes_of(predicted: pd.DataFrame, row: int) -> set[str]:
    return set(predicted.loc[predicted["row"] == row, "theme_id"])


# --- frame and analyst codes ----------------------------------------------------------


def test_frame_has_the_14_themes_and_none_in_contract_order(frame) -> None:
    assert frame.theme_ids == PLACE_STANDARD_THEMES
    assert [theme.theme_id for theme in frame.themes] == [*PLACE_STANDARD_THEMES, NO_THEME]
    assert frame.theme("care_maintenance").label == "Care and maintenance"
    assert "dog fouling" in frame.theme("care_maintenance").seeds
    assert all(len(theme.seeds) >= 15 for theme in frame.themes)
    assert frame.version == "2025.1"
    assert len(frame.sha256) == 64
    assert frame.params.word_ngrams == (1, 2)


def test_frame_missing_a_theme_is_a_config_error(tmp_path: Path) -> None:
    raw = yaml.safe_load((CONFIG / "coding" / "frame.yaml").read_text(encoding="utf-8"))
    raw["themes"] = [theme for theme in raw["themes"] if theme["id"] != "feeling_safe"]
    (tmp_path / "frame.yaml").write_text(yaml.safe_dump(raw), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"lacks themes \['feeling_safe'\]"):
        load_coding_frame(tmp_path)


def test_frame_with_unknown_theme_id_names_it(tmp_path: Path) -> None:
    raw = yaml.safe_load((CONFIG / "coding" / "frame.yaml").read_text(encoding="utf-8"))
    raw["themes"][3]["id"] = "streetscape"
    (tmp_path / "frame.yaml").write_text(yaml.safe_dump(raw), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"theme #4: unknown theme id 'streetscape'"):
        load_coding_frame(tmp_path)


def test_analyst_codes_cover_every_theme(analyst_codes: pd.DataFrame) -> None:
    assert tuple(analyst_codes.columns) == ANALYST_CODE_COLUMNS
    assert len(analyst_codes) == 336
    comments = analyst_codes.groupby(["survey_id", "response_id", "question"]).size()
    assert len(comments) == 279
    assert (comments > 1).sum() == 57  # multi-label comments, one row per theme
    per_theme = analyst_codes["theme_id"].value_counts()
    assert set(per_theme.index) == {*PLACE_STANDARD_THEMES, NO_THEME}
    assert per_theme.min() >= 17
    assert analyst_codes["coder"].nunique() == 3


def test_bad_analyst_code_names_line_and_field(analyst_codes: pd.DataFrame) -> None:
    broken = analyst_codes.copy()
    broken.loc[9, "theme_id"] = "greenspace"
    with pytest.raises(SourceFormatError, match=r"row 11, field 'theme_id'.*'greenspace'"):
        validate_analyst_codes(broken, "codes.csv")
    undated = analyst_codes.copy()
    undated.loc[4, "coded_at"] = "last week"
    with pytest.raises(SourceFormatError, match=r"row 6, field 'coded_at'"):
        validate_analyst_codes(undated, "codes.csv")


def test_none_together_with_a_theme_is_rejected(analyst_codes: pd.DataFrame) -> None:
    first = analyst_codes.iloc[[0]].assign(theme_id=NO_THEME)
    with pytest.raises(SourceFormatError, match=r"row 338.*both 'none' and a theme"):
        validate_analyst_codes(pd.concat([analyst_codes, first], ignore_index=True))


def test_analyst_codes_file_errors_name_the_file(tmp_path: Path) -> None:
    shutil.copy(CONFIG / "coding" / "frame.yaml", tmp_path / "frame.yaml")
    (tmp_path / "analyst_codes.csv").write_text("survey_id,text\nx,y\n", encoding="utf-8")
    with pytest.raises(SourceFormatError, match=r"analyst_codes.csv, row 1: missing columns"):
        load_analyst_codes(tmp_path)


# --- model ----------------------------------------------------------------------------


def test_model_codes_clear_comments(model: ThemeModel) -> None:
    texts = [
        "The buses are always late and the last one is at 7pm",
        "Dog fouling everywhere and the bins are overflowing",
        "Nothing",
        "Buses never turn up and the potholes are a disgrace",
        "Cannae get a GP appointment for weeks",
    ]
    predicted = model.predict(texts)
    assert tuple(predicted.columns) == ("row", "theme_id", "confidence")
    assert _themes_of(predicted, 0) == {"public_transport"}
    assert _themes_of(predicted, 1) == {"care_maintenance"}
    assert _themes_of(predicted, 2) == {NO_THEME}
    assert _themes_of(predicted, 3) == {"public_transport", "care_maintenance"}
    assert _themes_of(predicted, 4) == {"facilities_amenities"}
    assert predicted["confidence"].between(0, 1).all()
    assert predicted["row"].is_monotonic_increasing


def test_none_confidence_is_one_minus_top_probability(model: ThemeModel) -> None:
    probabilities = model.predict_proba(["n/a"])
    predicted = model.predict(["n/a"])
    assert predicted["theme_id"].tolist() == [NO_THEME]
    assert predicted["confidence"].iloc[0] == pytest.approx(1 - probabilities.max())


def test_training_is_deterministic_and_versioned(frame, analyst_codes, model) -> None:
    assert re.fullmatch(r"tfidf-ovr:[0-9a-f]{12}", model.version)
    again = train_theme_model(frame, analyst_codes, seed=0)
    assert again.version == model.version
    texts = ["speeding cars on the school run", "lovely park"]
    assert np.array_equal(again.predict_proba(texts), model.predict_proba(texts))
    np.testing.assert_array_equal(again.thresholds, model.thresholds)
    # Who coded a comment and when does not change the model; what they coded does.
    recoded = analyst_codes.assign(coder="someone_else", coded_at="2025-06-01")
    assert train_theme_model(frame, recoded, seed=0).version == model.version
    changed = analyst_codes.copy()
    changed.loc[0, "theme_id"] = "social_contact"
    assert train_theme_model(frame, changed, seed=0).version != model.version
    metadata = model.metadata()
    assert metadata["training_comments"] == 279
    assert set(metadata["thresholds"]) == set(PLACE_STANDARD_THEMES)
    assert all(0.2 <= value <= 0.5 for value in metadata["thresholds"].values())


def test_seed_vocabulary_alone_trains_a_model(frame) -> None:
    seed_only = train_theme_model(frame, pd.DataFrame(columns=list(ANALYST_CODE_COLUMNS)))
    assert seed_only.training_comments == 0
    assert seed_only.seed_phrases == sum(len(theme.seeds) for theme in frame.themes) + 14
    assert (seed_only.thresholds == frame.params.default_threshold).all()
    predicted = seed_only.predict(["the buses are always late", "no comment"])
    assert predicted["theme_id"].tolist() == ["public_transport", NO_THEME]


def test_prediction_speed_on_100k_comments(model: ThemeModel, analyst_codes) -> None:
    rng = np.random.default_rng(1)
    phrases = np.array(analyst_codes["text"].unique(), dtype=object)
    pairs = rng.choice(phrases, size=(100_000, 2))
    texts = [f"{first} {second}" for first, second in pairs]
    best = float("inf")
    for _ in range(2):
        start = time.perf_counter()
        predicted = model.predict(texts)
        best = min(best, time.perf_counter() - start)
    assert predicted["row"].nunique() == 100_000
    assert len(texts) / best >= 20_000, f"{len(texts) / best:,.0f} comments/s"


# --- coding comments with the audit trail ----------------------------------------------


def test_analyst_codes_replace_model_codes_for_the_same_comment(model, analyst_codes) -> None:
    comments = pd.DataFrame(
        {
            "survey_id": ["s1", "s1", "s1", "s1"],
            "response_id": ["7", "7", "8", "9"],
            "question": ["what_is_good", "what_could_be_better", "what_could_be_better", "x"],
            "text_redacted": [
                "The park is lovely",
                "The buses are always late",
                "Dog fouling everywhere",
                "   ",
            ],
            "redactions": [0, 0, 0, 0],
        }
    )
    codes = pd.DataFrame(
        [
            [
                "s1",
                7,
                "what_could_be_better",
                "The buses are always late",
                "traffic_parking",
                "kb",
                "2025-03-04",
            ],
            [
                "s1",
                7,
                "what_could_be_better",
                "The buses are always late",
                "influence_control",
                "lm",
                "2025-03-05",
            ],
            [
                "other",
                8,
                "what_could_be_better",
                "Dog fouling everywhere",
                "none",
                "kb",
                "2025-03-04",
            ],
        ],
        columns=list(ANALYST_CODE_COLUMNS),
    )
    coded = code_comments(comments, model, codes)
    assert tuple(coded.columns) == COMMENT_CODE_COLUMNS
    analysed = coded[coded["response_id"] == "7"]
    good = analysed[analysed["question"] == "what_is_good"]
    assert good[["theme_id", "source"]].values.tolist() == [["natural_space", model.source]]
    better = analysed[analysed["question"] == "what_could_be_better"]
    assert better[["theme_id", "source", "confidence"]].values.tolist() == [
        ["traffic_parking", "analyst:kb", 1.0],
        ["influence_control", "analyst:lm", 1.0],
    ]
    # Analyst codes of another survey do not apply; blank comments get no codes.
    other = coded[coded["response_id"] == "8"]
    assert other[["theme_id", "source"]].values.tolist() == [["care_maintenance", model.source]]
    assert "9" not in set(coded["response_id"])
    assert model.source.startswith("model:tfidf-ovr:")


def test_code_comments_without_analyst_codes_matches_predict(model) -> None:
    texts = ["nothing", "The pavements are cracked", "nothing", "Need a youth club"]
    comments = pd.DataFrame(
        {
            "survey_id": "s",
            "response_id": [1, 2, 3, 4],
            "question": "what_could_be_better",
            "text_redacted": texts,
            "redactions": 0,
        }
    )
    coded = code_comments(comments, model)
    predicted = model.predict(texts)
    assert code_comments(comments.iloc[:0], model).columns.tolist() == list(COMMENT_CODE_COLUMNS)
    assert coded["theme_id"].tolist() == predicted["theme_id"].tolist()
    np.testing.assert_allclose(coded["confidence"], predicted["confidence"])
    assert (coded["source"] == model.source).all()


# --- quality --------------------------------------------------------------------------


def test_cross_validation_per_theme(frame, analyst_codes) -> None:
    quality = cross_validate(frame, analyst_codes, folds=5)
    assert tuple(quality.columns) == QUALITY_COLUMNS
    assert quality["theme_id"].tolist() == [*PLACE_STANDARD_THEMES, NO_THEME]
    supports = analyst_codes["theme_id"].value_counts()
    assert quality.set_index("theme_id")["support"].to_dict() == supports.to_dict()
    assert macro_f1(quality) >= 0.80
    assert quality["f1"].min() >= 0.55


def test_held_out_quality(model, analyst_codes) -> None:
    held_out = pd.read_csv(HOLDOUT, dtype=str)
    assert held_out["comment_id"].nunique() >= 200
    assert not set(held_out["text"]) & set(analyst_codes["text"])
    quality = evaluate_held_out(model, held_out)
    assert quality["support"].min() >= 13
    assert macro_f1(quality) >= 0.64, quality.to_string()


@pytest.mark.real_data
def test_dundee_decides_project_titles(real_data: Path, model: ThemeModel) -> None:
    """Ballot titles of a real participatory-budgeting vote coded to their obvious theme
    (labels by ward and item number, judged from the titles)."""
    labels = {
        "moving_around": [(1, 3), (1, 4), (1, 5), (1, 6), (1, 9), (2, 5), (3, 3), (3, 6),
                          (4, 1), (4, 5), (5, 3), (6, 5), (7, 2), (7, 4), (8, 1)],
        "play_recreation": [(1, 1), (2, 8), (3, 5), (4, 3), (4, 6), (6, 1), (6, 3), (6, 4),
                            (7, 1), (7, 3), (7, 5), (8, 2), (8, 3), (8, 5)],
        "facilities_amenities": [(2, 1), (3, 1), (4, 7), (4, 8)],
        "feeling_safe": [(2, 6), (3, 2), (4, 2)],
        "traffic_parking": [(2, 3), (6, 6), (6, 8)],
        "care_maintenance": [(1, 8), (6, 7)],
        "natural_space": [(6, 2)],
    }  # fmt: skip
    truth = {item: theme for theme, items in labels.items() for item in items}
    ballot = pd.read_csv(real_data / "engagement" / "dundee_decides_2018_ballot_items.csv")
    keys = list(zip(ballot["ward_no"], ballot["item_no"], strict=True))
    chosen = ballot[[key in truth for key in keys]]
    assert len(chosen) == 42
    probabilities = model.predict_proba(chosen["project_title"].tolist())
    top = np.array(model.theme_ids)[probabilities.argmax(axis=1)]
    expected = [truth[key] for key in zip(chosen["ward_no"], chosen["item_no"], strict=True)]
    assert (top == np.array(expected)).sum() >= 35


# --- emergent topics ------------------------------------------------------------------


def test_emergent_topics_find_subjects_outside_the_frame() -> None:
    wind = [
        f"The wind farm {detail}"
        for detail in (
            "on the hill is an eyesore",
            "turbines are far too big",
            "should pay the community more",
            "noise from the turbines at night",
            "will ruin the view",
            "turbines keep getting bigger",
        )
    ]
    signal = [
        f"{detail} mobile signal and broadband"
        for detail in (
            "No",
            "Terrible",
            "Patchy",
            "Need better",
            "Awful",
            "Can't work from home with this",
        )
    ]
    texts = pd.Series(wind + signal + ["The weather", "Brexit"], index=[f"c{i}" for i in range(14)])
    topics = emergent_topics(texts, n_topics=2, seed=0)
    assert tuple(topics.columns) == TOPIC_COLUMNS
    assert topics["topic"].tolist() == [1, 2]
    terms = " ".join(topics["top_terms"])
    assert "wind" in terms and "broadband" in terms
    assert topics["n_comments"].sum() <= 14
    assert topics["n_comments"].min() >= 6
    wind_topic = topics[topics["top_terms"].str.contains("wind")].iloc[0]
    assert set(wind_topic["example_ids"]) <= {f"c{i}" for i in range(6)}
    assert len(wind_topic["example_ids"]) == 3
    pd.testing.assert_frame_equal(topics, emergent_topics(texts, n_topics=2, seed=0))


def test_emergent_topics_of_too_little_text_is_empty() -> None:
    assert emergent_topics(pd.Series([], dtype=str)).empty
    assert tuple(emergent_topics(["only one"]).columns) == TOPIC_COLUMNS


# --- duplicates and campaigns ---------------------------------------------------------


def test_near_duplicate_groups() -> None:
    texts = [
        "Save our library! It is the heart of the community and must stay open.",
        "nothing",
        "save our library - it is the heart of the community and must stay open",
        "Save our library!! It is the heart of the community and it must stay open!",
        "Nothing.",
        "",
        None,
        "The buses are always late and the fares are too high.",
    ]
    groups = near_duplicate_groups(texts, threshold=0.9)
    assert groups[0] == groups[2] == groups[3]
    assert groups[1] == groups[4]  # equal once punctuation and case are ignored
    assert len({groups[0], groups[1], groups[5], groups[6], groups[7]}) == 5
    assert groups.tolist() == near_duplicate_groups(texts, threshold=0.9).tolist()
    assert groups[0] == 0 and groups[1] == 1  # numbered by first appearance


def test_character_ngram_vectors_equal_scikit_learns() -> None:
    """The numpy character n-grams give scikit-learn's char_wb vectors: same features per
    text, same cosine similarities, on texts with short words, repeated n-grams, accents,
    non-Latin letters, digits, runs of whitespace, an empty and a one-letter text."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    from profiles.voice.duplicates import _char_ngram_vectors, _cosine_of_pairs

    rng = np.random.default_rng(3)
    words = ["a", "an", "the", "bus", "buses", "café", "Ålesund", "łódź", "δρόμος", "42", "ok"]
    texts = [
        "Save our library! It is the heart of the community",
        "save  our\tlibrary\n it is the HEART of the community",
        "aaaa aaaa aaaa",
        "",
        "x",
        "a b c",
        *(" ".join(rng.choice(words, size=rng.integers(1, 12))) for _ in range(200)),
    ]
    ours = _char_ngram_vectors(texts)
    theirs = TfidfVectorizer(
        analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True, use_idf=False
    ).fit_transform(texts)
    assert ours is not None and ours.shape == theirs.shape
    np.testing.assert_array_equal(ours.getnnz(axis=1), theirs.getnnz(axis=1))
    np.testing.assert_allclose((ours @ ours.T).toarray(), (theirs @ theirs.T).toarray(), atol=1e-12)
    # A lone surrogate cannot be packed: scikit-learn's vectors are used instead.
    broken = ["save the broken \ud800 library", "save the broken library"]
    assert _char_ngram_vectors(broken) is None
    similarity = _cosine_of_pairs(broken, np.array([[0, 1]]))
    assert 0.5 < similarity[0] < 1.0
    # Sorted weights per text match too, so it is the same n-grams, not just the same sizes.
    for row in (0, 1, 2, 5, 17):
        np.testing.assert_allclose(np.sort(ours[row].data), np.sort(theirs[row].data), rtol=1e-12)


def _survey(rows: list[tuple[str, str | None, str | None, list[int]]]):
    responses = pd.DataFrame(
        {
            "survey_id": "s",
            "response_id": [row[0] for row in rows],
            **{
                theme: [row[3][index % len(row[3])] for row in rows]
                for index, theme in enumerate(PLACE_STANDARD_THEMES)
            },
        }
    )
    comments = pd.DataFrame(
        [
            ("s", row[0], question, text)
            for row in rows
            for question, text in (("what_is_good", row[1]), ("what_could_be_better", row[2]))
            if text is not None
        ],
        columns=["survey_id", "response_id", "question", "text_redacted"],
    )
    return responses, comments


def test_flag_duplicates_exact_and_campaign() -> None:
    campaign = (
        "Keep the swimming pool open! Closing it would leave the kids and the older "
        "folk with nowhere to swim"
    )
    rows = [
        ("r1", "The park", "Buses are always late and far too dear", [4, 5]),
        ("r2", "the park.", "buses are ALWAYS late, and far too dear!", [4, 5]),  # copy of r1
        ("r3", "The park", "Buses are always late and far too dear", [3, 5]),  # other scores
        ("r4", None, "Nothing", [7]),
        ("r5", None, "Nothing", [6]),  # short and common: neither duplicate nor campaign
        ("r6", None, "Nothing", [6]),
        ("r7", None, "Nothing", [6]),
        ("r8", None, "Nothing", [5]),
        ("r9", None, None, [5]),  # no comment at all: scores alone never make a duplicate
        ("r10", None, None, [5]),
        *[(f"c{i}", None, campaign + suffix, [2, 3]) for i, suffix in enumerate(
            ["", " Agreed.", " Totally agree.", " Keep it open", "!!", " Yes!"]
        )],  # c4 differs from c0 only by punctuation: an exact duplicate
        *[(f"n{i}", "Nice people", f"Fix the roads please, they are a disgrace {i}", [i + 1])
          for i in range(4)],  # only 4 near-identical: not a campaign
    ]  # fmt: skip
    responses, comments = _survey(rows)
    flags = flag_duplicates(responses, comments)
    assert tuple(flags.columns) == DUPLICATE_COLUMNS
    duplicates = dict(zip(flags["response_id"], flags["is_duplicate"], strict=True))
    assert [key for key, flag in duplicates.items() if flag] == ["r2", "c4"]
    groups = dict(zip(flags["response_id"], flags["campaign_group"], strict=True))
    assert {key for key, group in groups.items() if pd.notna(group)} == {f"c{i}" for i in range(6)}
    assert {groups[f"c{i}"] for i in range(6)} == {"campaign-1"}


def test_flag_duplicates_reads_long_scores() -> None:
    responses, comments = _survey(
        [("a", "Lovely park and great neighbours", None, [1]),
         ("b", "Lovely park and great neighbours", None, [1])]
    )  # fmt: skip
    scores = pd.DataFrame(
        {"survey_id": "s", "response_id": ["a", "b"], "theme_id": "natural_space", "score": [6, 2]}
    )
    flags = flag_duplicates(responses[["survey_id", "response_id"]], comments, scores)
    assert not flags["is_duplicate"].any()  # same text, different scores
    same = scores.assign(score=6)
    assert flag_duplicates(responses, comments, same)["is_duplicate"].tolist() == [False, True]


def test_flag_duplicates_scales_to_100k_comments() -> None:
    rng = np.random.default_rng(3)
    # Word frequencies follow Zipf's law, as in real text, over a 3,000-word vocabulary.
    vocabulary = np.array([f"w{index}" for index in range(3000)], dtype=object)
    frequency = 1 / np.arange(1, 3001)
    count = 100_000
    sizes = rng.integers(3, 30, size=count)
    words = rng.choice(vocabulary, size=int(sizes.sum()), p=frequency / frequency.sum())
    texts = [" ".join(text) for text in np.split(words, np.cumsum(sizes)[:-1])]
    campaign = "Save the Braeside Community Centre, it is the heart of this community and must stay"
    for index in range(0, 60, 10):
        texts[index] = f"{campaign} open{'!' * index} {'so ' * (index // 10)}"
    comments = pd.DataFrame(
        {
            "survey_id": "s",
            "response_id": np.arange(count),
            "question": "what_could_be_better",
            "text_redacted": texts,
        }
    )
    start = time.perf_counter()
    flags = flag_duplicates(comments[["survey_id", "response_id"]], comments)
    elapsed = time.perf_counter() - start
    assert elapsed < 20, elapsed
    campaigners = flags.loc[flags["campaign_group"].notna(), "response_id"].tolist()
    assert campaigners == list(range(0, 60, 10))
    assert not flags["is_duplicate"].any()


def test_a_new_process_loads_the_saved_theme_model_of_the_same_code(tmp_path, monkeypatch):
    """Each Dagster run is a process: the second loads what the first trained and saved,
    unless the saved model came from other code."""
    from assets import voice as voice_assets
    from profiles import incremental
    from profiles.settings import CONFIG_DIR
    from profiles.voice import coding

    trained = []
    real_train = coding.train_theme_model

    def counting_train(*args, **kwargs):
        trained.append(1)
        return real_train(*args, **kwargs)

    monkeypatch.setattr(coding, "train_theme_model", counting_train)
    monkeypatch.setattr(voice_assets, "_TRAINED_MODELS", {})
    first = voice_assets.theme_model(CONFIG_DIR, str(tmp_path))
    assert trained == [1]
    frame = coding.load_coding_frame(CONFIG_DIR)
    assert first.version == coding.model_version(frame, coding.load_analyst_codes(CONFIG_DIR))

    voice_assets._TRAINED_MODELS.clear()  # a new process
    loaded = voice_assets.theme_model(CONFIG_DIR, str(tmp_path))
    assert trained == [1] and loaded is not first and loaded.version == first.version
    comments = pd.DataFrame(
        {
            "survey_id": "s",
            "response_id": ["r1", "r2"],
            "question": "q",
            "text_redacted": ["the buses never come on time", "nowhere safe to play"],
        }
    )
    analyst = coding.load_analyst_codes(CONFIG_DIR).iloc[0:0]
    pd.testing.assert_frame_equal(
        coding.code_comments(comments, loaded, analyst),
        coding.code_comments(comments, first, analyst),
    )

    stamp = voice_assets._model_path(str(tmp_path), first.version).with_suffix(".code")
    assert stamp.read_text() == incremental.code_fingerprint()
    stamp.write_text("other code")
    voice_assets._TRAINED_MODELS.clear()
    voice_assets.theme_model(CONFIG_DIR, str(tmp_path))
    assert trained == [1, 1]  # saved by other code: trained again, and saved anew
    assert stamp.read_text() == incremental.code_fingerprint()


def test_f1_by_threshold_equals_sklearn_threshold_by_threshold():
    """Threshold tuning scores every grid value at once; each score is bit for bit the one
    sklearn's f1_score gives, so the tuned thresholds (and model versions) do not move."""
    from sklearn.metrics import f1_score

    from profiles.voice.coding import f1_by_threshold

    rng = np.random.default_rng(11)
    grid = [0.5, 0.45, 0.55, 0.4, 0.6, 0.3, 0.7, 0.2, 0.8, 0.1, 0.9, 1.0, 0.0]
    cases = [(np.zeros(9, dtype=int), rng.random(9)), (np.ones(4, dtype=int), np.zeros(4))]
    for size in (1, 2, 7, 50, 400):
        for share in (0.02, 0.3, 0.9):
            truth = (rng.random(size) < share).astype(int)
            probability = np.round(rng.random(size), 2)  # ties with grid values included
            cases.append((truth, probability))
    for truth, probability in cases:
        expected = [f1_score(truth, probability >= t, zero_division=0) for t in grid]
        assert f1_by_threshold(truth, probability, grid).tolist() == expected
