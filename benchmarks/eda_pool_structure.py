"""How much structure an `eda` pool has for a model to learn.

For each task of an EDA pool folder (default: the shipped pools) prints the QoR range, the
number of distinct QoR values among its sequences, the share of sequences at the pool's best
value and the chance that ``DRAWS`` random draws (5 initial + 30 steps) include one, and the
cross-validated R^2 of two ridge regressions: on the operator counts (7 features, order
ignored) and on the positional one-hot encoding (20 x 7 features, what the network sees).
An R^2 near 0 with a handful of distinct values means the pool is a few plateaus with no
pattern a model can learn from 500 random sequences: random search is then as good as any
method.

    python benchmarks/eda_pool_structure.py [POOLS_FOLDER]
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

DRAWS = 35


def ridge_cv_r2(X: np.ndarray, y: np.ndarray, folds: int = 5, seed: int = 0) -> float:
    """Mean out-of-fold R^2 of ridge regression, its penalty picked by inner leave-one-out."""
    rng = np.random.default_rng(seed)
    idx = rng.permutation(len(y))
    parts = np.array_split(idx, folds)
    scores = []
    for k in range(folds):
        test = parts[k]
        train = np.concatenate([parts[j] for j in range(folds) if j != k])
        mu_x, mu_y = X[train].mean(0), y[train].mean()
        A, b = X[train] - mu_x, y[train] - mu_y
        best, best_err = None, np.inf
        for alpha in np.logspace(-2, 3, 12):
            # Closed-form leave-one-out error of ridge (hat-matrix diagonal).
            H = A @ np.linalg.solve(A.T @ A + alpha * np.eye(A.shape[1]), A.T)
            res = (b - H @ b) / (1 - np.diag(H))
            err = float(np.mean(res**2))
            if err < best_err:
                best, best_err = alpha, err
        w = np.linalg.solve(A.T @ A + best * np.eye(A.shape[1]), A.T @ b)
        pred = (X[test] - mu_x) @ w + mu_y
        ss = float(np.sum((y[test] - y[test].mean()) ** 2))
        scores.append(1 - float(np.sum((y[test] - pred) ** 2)) / ss if ss > 0 else 0.0)
    return float(np.mean(scores))


def main(folder: str | None = None) -> None:
    from botorch_nap.tasks.eda import OPERATORS, SHIPPED_POOLS

    root = Path(folder) if folder else SHIPPED_POOLS
    n_ops = len(OPERATORS)
    print(
        f"{'task':<18} {'QoR min':>8} {'max':>7} {'std':>6} {'distinct':>8} "
        f"{'at best':>7} {'P(hit)':>6} {'R2 counts':>9} {'R2 positional':>13}"
    )
    for f in sorted(root.glob("*.npz")):
        data = np.load(f)
        X, y = data["X"].astype(int), data["y"].astype(float)
        counts = np.stack([(X == k).sum(1) for k in range(n_ops)], 1).astype(float)
        onehot = np.concatenate([(X == k) for k in range(n_ops)], 1).astype(float)
        n, at_best = len(y), int((y == y.min()).sum())  # QoR: lower is better
        # P(at least one of DRAWS draws without replacement is at the best value)
        miss = np.prod([(n - at_best - i) / (n - i) for i in range(min(DRAWS, n))])
        print(
            f"{f.stem:<18} {y.min():>8.3f} {y.max():>7.3f} {y.std():>6.3f} "
            f"{len(np.unique(y)):>8d} {at_best / n:>7.1%} {1 - miss:>6.0%} "
            f"{ridge_cv_r2(counts, y):>9.2f} "
            f"{ridge_cv_r2(onehot, y):>13.2f}"
        )


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else None)
