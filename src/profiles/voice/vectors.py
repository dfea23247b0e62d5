"""Sparse text vectors shared by theme coding and duplicate detection.

What belongs here: turning (document, feature) occurrences into CSR counts, and weighting
counts the way scikit-learn's TfidfTransformer does with `sublinear_tf=True`. Which
features a text has (words, n-grams) is decided by the callers.
"""

from __future__ import annotations

import numpy as np
from scipy.sparse import coo_matrix, csr_matrix


def sparse_counts(rows: np.ndarray, columns: np.ndarray, shape: tuple[int, int]) -> csr_matrix:
    """CSR counts of (row, column) occurrences; repeated pairs are summed."""
    return coo_matrix((np.ones(len(rows)), (rows, columns)), shape=shape).tocsr()


def weigh_rows(counts: csr_matrix, idf: np.ndarray | None = None) -> csr_matrix:
    """Sublinear TF (1 + ln tf) times `idf` (none: all ones), each row scaled to unit
    length, in place.

    Equivalent to TfidfTransformer(sublinear_tf=True).transform on duplicate-free CSR
    counts, without its input copies.
    """
    data = counts.data
    np.log(data, out=data)
    data += 1.0
    if idf is not None:
        data *= idf[counts.indices]
    nonempty = np.flatnonzero(np.diff(counts.indptr))
    if nonempty.size:
        squares = np.add.reduceat(data * data, counts.indptr[nonempty])
        norms = np.ones(counts.shape[0])
        norms[nonempty] = np.sqrt(squares)
        data /= np.repeat(norms, np.diff(counts.indptr))
    return counts
