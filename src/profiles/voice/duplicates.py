"""Duplicate and campaign (near-identical) survey responses.

What belongs here: text normalisation and word tokenisation for comparing comments
(`word_tokens` is shared with theme coding), grouping of near-identical
texts with MinHash locality-sensitive hashing checked by character n-gram cosine
similarity, and `flag_duplicates`, which marks exact re-submissions and campaign clusters
so that summaries count each voice once. Nothing here decides what a theme is.

Scale: grouping is linear in the number of texts (MinHash signatures on sparse shingle
sets, candidate pairs only from shared LSH buckets, linked to the first member of each
bucket rather than pairwise), so 100k comments take seconds, never an n x n matrix.
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterable, Sequence
from typing import Final

import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix, csr_matrix
from scipy.sparse.csgraph import connected_components
from sklearn.feature_extraction.text import TfidfVectorizer

from profiles.voice.contract import PLACE_STANDARD_THEMES
from profiles.voice.vectors import sparse_counts, weigh_rows

DUPLICATE_COLUMNS: Final[tuple[str, ...]] = (
    "survey_id",
    "response_id",
    "is_duplicate",
    "campaign_group",
)

_NON_WORD = re.compile(r"[^\w]+")
_MERSENNE_PRIME: Final = (1 << 31) - 1
# Candidate pairs whose MinHash-estimated word-shingle Jaccard similarity is below this are
# dropped before the (dearer) character check: near-identical comments score far higher.
_MIN_ESTIMATED_JACCARD: Final = 0.4


def normalise_text(text: object) -> str:
    """Casefolded words of `text` joined by single spaces: punctuation, case and spacing
    differences do not make two comments different. Missing values give ''."""
    if text is None or (isinstance(text, float) and np.isnan(text)):
        return ""
    return _NON_WORD.sub(" ", str(text).casefold()).strip()


def _ascii_word_table() -> bytes:
    """Byte translation: ASCII punctuation and control characters become spaces."""
    table = bytearray(range(256))
    for byte in (*string.punctuation.encode("ascii"), *range(32)):
        table[byte] = ord(" ")
    return bytes(table)


_ASCII_TABLE: Final = _ascii_word_table()
_ASCII_DROPPED: Final = b"'`"  # apostrophes vanish: "don't" and "dont" are one word
_UNICODE_DROPPED: Final = "’‘´"
_UNICODE_SPACES: Final = "“”„«»–—‒…•·£€¡¿"
_DOC_BREAK: Final = "\ue000"  # a private-use character: never a word


def _word_text(corpus: str) -> str:
    """Lower-case `corpus` with punctuation turned into spaces and apostrophes removed.

    Works on bytes for the ASCII part (one C pass), so it runs at hundreds of MB/s.
    """
    lowered = corpus.lower()
    if not lowered.isascii():
        for char in _UNICODE_DROPPED:
            if char in lowered:
                lowered = lowered.replace(char, "")
        for char in _UNICODE_SPACES:
            if char in lowered:
                lowered = lowered.replace(char, " ")
    return lowered.encode("utf-8").translate(_ASCII_TABLE, _ASCII_DROPPED).decode("utf-8")


def word_tokens(texts: Sequence[object]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Word tokens of a batch of texts: per token its document (0-based position in
    `texts`) and its code into the batch's distinct words, and those distinct words.

    Words are lower-case runs between spaces and punctuation; apostrophes vanish ("don't",
    "don’t" and "dont" are one word); non-strings count as empty. The batch is joined into
    one string (documents separated by `_DOC_BREAK`), cleaned and split in a few C-level
    passes: well under a microsecond per word.
    """
    cleaned = [text.replace(_DOC_BREAK, " ") if isinstance(text, str) else "" for text in texts]
    corpus = _word_text(f" {_DOC_BREAK} ".join(cleaned))
    tokens = np.array(corpus.split(), dtype=object)
    is_break = tokens == _DOC_BREAK
    documents = np.cumsum(is_break)[~is_break]
    codes, distinct = pd.factorize(tokens[~is_break])
    return documents.astype(np.int64), codes.astype(np.int64), np.asarray(distinct, dtype=object)


def _minhash_signatures(texts: Sequence[str], n_hashes: int, seed: int) -> np.ndarray:
    """MinHash signature (n_texts x n_hashes, uint64) of each text's set of word 1..3-grams.

    Shingles are integer combinations of the batch's word codes, so no string hashing
    (which Python salts per process) is involved; texts without words get all-max rows.
    """
    documents, codes, distinct = word_tokens(texts)
    n_words = np.uint64(max(len(distinct), 1))
    ids = codes.astype(np.uint64)
    shingle_docs, shingle_ids = [documents], [ids]
    for size in (2, 3):
        if len(documents) < size:
            break
        same = documents[: len(documents) - size + 1] == documents[size - 1 :]
        gram = ids[: len(ids) - size + 1].copy()
        for offset in range(1, size):
            gram = gram * n_words + ids[offset : len(ids) - size + 1 + offset]
        # Distinct offsets per n-gram size keep a bigram from equalling some unigram.
        shingle_docs.append(documents[: len(documents) - size + 1][same])
        shingle_ids.append(gram[same] + np.uint64(size * 0x9E3779B9))
    docs = np.concatenate(shingle_docs)
    order = np.argsort(docs, kind="stable")
    docs = docs[order]
    values = np.concatenate(shingle_ids)[order] % np.uint64(_MERSENNE_PRIME)
    signatures = np.full((len(texts), n_hashes), np.iinfo(np.uint64).max, dtype=np.uint64)
    if len(docs) == 0:
        return signatures
    starts = np.flatnonzero(np.r_[True, docs[1:] != docs[:-1]])
    rng = np.random.default_rng(seed)
    multipliers = rng.integers(1, _MERSENNE_PRIME, size=n_hashes, dtype=np.uint64)
    offsets = rng.integers(0, _MERSENNE_PRIME, size=n_hashes, dtype=np.uint64)
    # Comments share most of their words and phrases: hash each distinct shingle once and
    # look the hashes up, rather than hashing every occurrence (a third of the time).
    distinct, occurrence = np.unique(values, return_inverse=True)
    for column in range(n_hashes):
        hashed = (distinct * multipliers[column] + offsets[column]) % np.uint64(_MERSENNE_PRIME)
        signatures[docs[starts], column] = np.minimum.reduceat(hashed[occurrence], starts)
    return signatures


def _lsh_candidate_pairs(signatures: np.ndarray, bands: int) -> np.ndarray:
    """Pairs (i, j) of rows sharing a whole band of their signatures, each row linked to
    the first row of its bucket (so a bucket of k rows gives k-1 pairs, not k^2/2).
    Rows without shingles (all-max signatures) are never paired."""
    rows_per_band = signatures.shape[1] // bands
    has_shingles = signatures[:, 0] != np.iinfo(np.uint64).max
    pairs: list[np.ndarray] = []
    for band in range(bands):
        block = signatures[:, band * rows_per_band : (band + 1) * rows_per_band]
        keys = np.zeros(len(block), dtype=np.uint64)
        for column in range(rows_per_band):  # wrapping arithmetic: a hash of the band
            keys = keys * np.uint64(1_000_003) + block[:, column]
        bucket = pd.factorize(keys)[0]
        _, first_index = np.unique(bucket, return_index=True)
        first = first_index[bucket]
        linked = np.flatnonzero((first != np.arange(len(bucket))) & has_shingles)
        if linked.size:
            pairs.append(np.column_stack([first[linked], linked]))
    if not pairs:
        return np.empty((0, 2), dtype=np.int64)
    return np.unique(np.vstack(pairs), axis=0)


def _char_ngram_vectors(texts: Sequence[str]) -> csr_matrix | None:
    """Rows of unit length: each text's character 3..5-grams within space-padded words,
    weighted 1 + log(count) — what scikit-learn's `TfidfVectorizer(analyzer="char_wb",
    ngram_range=(3, 5), sublinear_tf=True, use_idf=False)` gives (tested against it).

    Written with numpy because the vectoriser builds every n-gram as a Python string, and
    that was most of duplicate detection's time. In the texts joined as " w1 w2 … ", the
    n-grams of a padded word " w " are exactly the windows with no space inside (spaces only
    at their ends), and no window across two texts qualifies. Each window's characters, as
    codes into the texts' alphabet, are packed into one integer. None when the alphabet is
    too large to pack (over 4,095 distinct characters) or a text holds a lone surrogate:
    the caller then uses scikit-learn.
    """
    padded = [f" {' '.join(words)} " if (words := text.lower().split()) else "" for text in texts]
    lengths = np.fromiter((len(text) for text in padded), dtype=np.int64, count=len(padded))
    try:
        points = np.frombuffer("".join(padded).encode("utf-32-le"), dtype=np.uint32)
    except UnicodeEncodeError:  # a lone surrogate: no code point to pack, so scikit-learn
        return None
    alphabet, characters = np.unique(points, return_inverse=True)
    bits = max(len(alphabet).bit_length(), 1)
    if 5 * bits > 60:
        return None
    characters = characters.astype(np.uint64) + np.uint64(1)  # 0 never codes a character
    space = np.concatenate([[0], np.cumsum(points == ord(" "))])
    document = np.repeat(np.arange(len(padded)), lengths)
    window_documents, window_keys = [], []
    for size in (3, 4, 5):
        count = len(points) - size + 1
        if count <= 0:
            continue
        starts = np.arange(count)
        inside = space[starts + size - 1] - space[starts + 1] == 0
        key = np.full(count, size << 60, dtype=np.uint64)
        for offset in range(size):
            key |= characters[offset : offset + count] << np.uint64(bits * offset)
        window_documents.append(document[:count][inside])
        window_keys.append(key[inside])
    if not window_keys:
        return csr_matrix((len(padded), 0))
    features, distinct = pd.factorize(np.concatenate(window_keys))
    counts = sparse_counts(np.concatenate(window_documents), features, (len(padded), len(distinct)))
    return weigh_rows(counts)


def _cosine_of_pairs(texts: Sequence[str], pairs: np.ndarray) -> np.ndarray:
    """Cosine similarity of character 3..5-gram vectors (sublinear term frequency, no idf)
    for each candidate pair, vectorising only the texts that take part in a pair.

    No idf: weights fitted on a handful of candidate texts would be unstable, and rare
    n-grams (a supporter's added "Agreed.") would count for more than the shared text.
    """
    involved = np.unique(pairs)
    position = np.full(len(texts), -1, dtype=np.int64)
    position[involved] = np.arange(involved.size)
    chosen = [texts[i] for i in involved]
    vectors = _char_ngram_vectors(chosen)
    if vectors is None:
        vectors = TfidfVectorizer(
            analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True, use_idf=False
        ).fit_transform(chosen)
    left = vectors[position[pairs[:, 0]]]
    right = vectors[position[pairs[:, 1]]]
    return np.asarray(left.multiply(right).sum(axis=1)).ravel()


def near_duplicate_groups(
    texts: Iterable[object],
    *,
    threshold: float = 0.9,
    min_chars: int = 0,
    n_hashes: int = 64,
    bands: int = 16,
    seed: int = 0,
) -> np.ndarray:
    """Group label (0..k-1, numbered by first appearance) for each text.

    Texts equal after `normalise_text` always share a group. Texts of at least
    `min_chars` normalised characters are also joined when MinHash LSH proposes them as a
    pair and their character n-gram cosine similarity is >= `threshold`; groups
    are the connected components of those links. With 16 bands of 4 hashes, pairs with
    word-shingle Jaccard similarity of 0.5 are proposed about 2 times in 3, and of 0.7
    almost always. Blank texts each get their own group.
    """
    return _groups_of_normalised(
        [normalise_text(text) for text in texts],
        threshold=threshold,
        min_chars=min_chars,
        n_hashes=n_hashes,
        bands=bands,
        seed=seed,
    )


def _groups_of_normalised(
    normalised: list[str],
    *,
    threshold: float,
    min_chars: int,
    n_hashes: int = 64,
    bands: int = 16,
    seed: int = 0,
) -> np.ndarray:
    n_texts = len(normalised)
    if n_texts == 0:
        return np.empty(0, dtype=np.int64)
    exact = pd.factorize(pd.Series(normalised, dtype=object))[0]
    blank = np.array([not text for text in normalised])
    exact[blank] = -1 - np.flatnonzero(blank)  # unique negative ids: blanks never match
    _, exact = np.unique(exact, return_inverse=True)
    representatives = pd.Series(np.arange(n_texts)).groupby(exact).min().to_numpy()
    rep_texts = [normalised[i] for i in representatives]
    eligible = np.array([len(text) >= max(min_chars, 1) for text in rep_texts])
    links = np.empty((0, 2), dtype=np.int64)
    if eligible.sum() >= 2:
        eligible_index = np.flatnonzero(eligible)
        signatures = _minhash_signatures([rep_texts[i] for i in eligible_index], n_hashes, seed)
        candidates = _lsh_candidate_pairs(signatures, bands)
        agreement = (signatures[candidates[:, 0]] == signatures[candidates[:, 1]]).mean(axis=1)
        candidates = candidates[agreement >= _MIN_ESTIMATED_JACCARD]
        if len(candidates):
            similar = _cosine_of_pairs([rep_texts[i] for i in eligible_index], candidates)
            links = eligible_index[candidates[similar >= threshold - 1e-9]]
    n_reps = len(representatives)
    graph = coo_matrix((np.ones(len(links)), (links[:, 0], links[:, 1])), shape=(n_reps, n_reps))
    _, rep_component = connected_components(graph, directed=False)
    component = rep_component[exact]
    return pd.factorize(pd.Series(component))[0].astype(np.int64)


def _score_hash(responses: pd.DataFrame, scores: pd.DataFrame | None) -> np.ndarray:
    """A 64-bit hash per response of its scores in theme order (unscored themes included)."""
    if scores is not None and len(scores):
        wide = scores.pivot_table(
            index=["survey_id", "response_id"], columns="theme_id", values="score", aggfunc="first"
        )
        wide = wide.reindex(columns=list(PLACE_STANDARD_THEMES))
        wide = wide.reindex(pd.MultiIndex.from_frame(responses[["survey_id", "response_id"]]))
        values = pd.DataFrame(wide.to_numpy(dtype=float))
    else:
        present = [theme for theme in PLACE_STANDARD_THEMES if theme in responses.columns]
        values = responses[present].apply(pd.to_numeric, errors="coerce").astype(float)
    if values.shape[1] == 0:
        return np.zeros(len(responses), dtype=np.uint64)
    return pd.util.hash_pandas_object(values, index=False).to_numpy()


def flag_duplicates(
    responses: pd.DataFrame,
    comments: pd.DataFrame,
    scores: pd.DataFrame | None = None,
    *,
    campaign_similarity: float = 0.9,
    campaign_min_responses: int = 5,
    campaign_min_chars: int = 60,
    duplicate_min_chars: int = 20,
    seed: int = 0,
) -> pd.DataFrame:
    """Flag exact duplicates and campaign clusters among survey responses.

    `responses` holds `survey_id`, `response_id` in the order received (earliest first);
    scores come from `scores` (long: survey_id, response_id, theme_id, score) or, when it
    is None, from theme-id columns of `responses` (the export layout). `comments` holds
    `survey_id`, `response_id`, `question` and `text_redacted` (or `text`).

    A response `is_duplicate` when an earlier response of the same survey has the same
    normalised text for every question and the same scores; only responses whose comments
    hold at least `duplicate_min_chars` normalised characters qualify, since identical
    scores with no or a stock answer ("nothing") cannot tell a copy from people who agree.
    A comment of >= `campaign_min_chars` normalised characters that is near-identical
    (cosine >= `campaign_similarity`) to comments of at least `campaign_min_responses`
    distinct responses puts its response in that cluster's `campaign_group` ('campaign-1',
    ... numbered by first appearance within the survey); a response in several clusters
    takes the largest. Returns one row per response in input order (`DUPLICATE_COLUMNS`).
    """
    text_column = "text_redacted" if "text_redacted" in comments.columns else "text"
    result = responses[["survey_id", "response_id"]].copy()
    result["is_duplicate"] = False
    result["campaign_group"] = pd.Series(pd.NA, index=result.index, dtype="string")
    if result.empty:
        return result.reset_index(drop=True)
    key_columns = ["survey_id", "response_id"]
    comment_frame = comments[[*key_columns, "question", text_column]].copy()
    comment_frame["normalised"] = comment_frame[text_column].map(normalise_text)
    comment_frame = comment_frame[comment_frame["normalised"] != ""]

    # One 64-bit hash per comment (question and normalised text), summed per response:
    # equal sums mean equal answers to every question, without building joined strings.
    comment_frame["hash"] = pd.util.hash_array(
        (comment_frame["question"].astype(str) + "\x1e" + comment_frame["normalised"]).to_numpy(
            dtype=object
        )
    )
    comment_frame["length"] = comment_frame["normalised"].str.len()
    per_response = comment_frame.groupby(key_columns)[["hash", "length"]].sum()
    keyed = result.join(per_response, on=key_columns)
    keyed["scores"] = _score_hash(responses, scores)
    qualifies = keyed["length"].fillna(0).to_numpy() >= duplicate_min_chars
    repeated = keyed[qualifies].duplicated(subset=["survey_id", "hash", "scores"], keep="first")
    result.loc[repeated.index[repeated.to_numpy()], "is_duplicate"] = True

    for survey_id, survey_comments in comment_frame.groupby("survey_id", sort=False):
        survey_comments = survey_comments.reset_index(drop=True)
        groups = _groups_of_normalised(
            survey_comments["normalised"].tolist(),
            threshold=campaign_similarity,
            min_chars=campaign_min_chars,
            seed=seed,
        )
        survey_comments["group"] = groups
        long_enough = survey_comments["normalised"].str.len() >= campaign_min_chars
        sized = survey_comments[long_enough].groupby("group")["response_id"].nunique()
        campaigns = sized[sized >= campaign_min_responses]
        if campaigns.empty:
            continue
        members = survey_comments[survey_comments["group"].isin(campaigns.index) & long_enough]
        members = members.assign(size=members["group"].map(campaigns))
        # Number clusters by first appearance so ids are stable for a given input order.
        order = {group: number for number, group in enumerate(pd.unique(members["group"]), 1)}
        best = members.sort_values(["size", "group"], ascending=[False, True], kind="stable")
        best = best.drop_duplicates("response_id", keep="first")
        labels = {
            row.response_id: f"campaign-{order[row.group]}"
            for row in best[["response_id", "group"]].itertuples(index=False)
        }
        in_survey = result["survey_id"] == survey_id
        mapped = result.loc[in_survey, "response_id"].map(labels)
        result.loc[in_survey, "campaign_group"] = mapped.astype("string")
    return result.reset_index(drop=True)
