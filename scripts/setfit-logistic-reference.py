"""Writes test/fixtures/setfit/logistic-regression.json: scikit-learn's LogisticRegression (L2, C=1,
unpenalised intercept) on two tiny fixed data sets, binary and three-class, solved here by plain
gradient descent in float64 with NumPy: a solver independent of src/setfit/logistic-regression.ts's
L-BFGS (scikit-learn itself is not installed in this project's environment).

Run: python3 scripts/setfit-logistic-reference.py
"""

import json
import pathlib

import numpy as np

C = 1.0
OUT = pathlib.Path(__file__).resolve().parent.parent / "test/fixtures/setfit/logistic-regression.json"


def unit_rows(rows):
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def data(seed, classes, per_class, dim):
    """Rows around one centre per class, L2-normalised as SetFit's embeddings are."""
    rng = np.random.RandomState(seed)
    centres = rng.normal(size=(classes, dim))
    labels = np.repeat(np.arange(classes), per_class)
    rows = centres[labels] + 0.8 * rng.normal(size=(len(labels), dim))
    return unit_rows(rows), labels


def descend(gradient, start, lipschitz, tolerance=1e-13, limit=5_000_000):
    """Gradient descent with the step 1/L until every gradient component is below tolerance."""
    theta = start
    for iteration in range(limit):
        g = gradient(theta)
        if np.max(np.abs(g)) < tolerance:
            return theta, iteration, float(np.max(np.abs(g)))
        theta = theta - g / lipschitz
    raise RuntimeError("gradient descent did not converge")


def binary(rows, labels):
    """sum_i log(1 + exp(-s_i (w.x_i + c))) + |w|^2 / (2C); theta = (w, c)."""
    x = np.hstack([rows, np.ones((len(rows), 1))])
    signs = np.where(labels == 1, 1.0, -1.0)
    penalty = np.ones(x.shape[1]) / C
    penalty[-1] = 0.0

    def gradient(theta):
        margins = signs * (x @ theta)
        weights = -signs / (1.0 + np.exp(margins))
        return x.T @ weights + penalty * theta

    # The logistic loss's second derivative is at most 1/4.
    lipschitz = 0.25 * np.linalg.eigvalsh(x.T @ x).max() + 1.0 / C
    theta, iterations, norm = descend(gradient, np.zeros(x.shape[1]), lipschitz)
    logit = x @ theta
    probabilities = np.stack([1 / (1 + np.exp(logit)), 1 / (1 + np.exp(-logit))], axis=1)
    return {
        "coef": theta[:-1].tolist(),
        "intercept": float(theta[-1]),
        "probabilities": probabilities.tolist(),
        "iterations": iterations,
        "gradient_norm": norm,
    }


def multinomial(rows, labels, classes):
    """sum_i -log softmax(W x_i + b)[y_i] + |W|^2 / (2C); theta = [W | b], [classes, dim + 1]."""
    x = np.hstack([rows, np.ones((len(rows), 1))])
    onehot = np.eye(classes)[labels]
    penalty = np.ones(x.shape[1]) / C
    penalty[-1] = 0.0

    def probabilities(theta):
        logits = x @ theta.T
        logits -= logits.max(axis=1, keepdims=True)
        exps = np.exp(logits)
        return exps / exps.sum(axis=1, keepdims=True)

    def gradient(theta):
        return (probabilities(theta) - onehot).T @ x + penalty * theta

    # The softmax cross-entropy's Hessian in the logits is at most 1/2 in norm.
    lipschitz = 0.5 * np.linalg.eigvalsh(x.T @ x).max() + 1.0 / C
    theta, iterations, norm = descend(gradient, np.zeros((classes, x.shape[1])), lipschitz)
    return {
        "coef": theta[:, :-1].tolist(),
        "intercept": theta[:, -1].tolist(),
        "probabilities": probabilities(theta).tolist(),
        "iterations": iterations,
        "gradient_norm": norm,
    }


def main():
    binary_rows, binary_labels = data(1, 2, 6, 5)
    multi_rows, multi_labels = data(2, 3, 5, 6)
    reference = {
        "C": C,
        "binary": {
            "rows": binary_rows.tolist(),
            "labels": binary_labels.tolist(),
            **binary(binary_rows, binary_labels),
        },
        "multinomial": {
            "rows": multi_rows.tolist(),
            "labels": multi_labels.tolist(),
            **multinomial(multi_rows, multi_labels, 3),
        },
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(reference, indent=2) + "\n")
    print(f"wrote {OUT}: binary {reference['binary']['iterations']} and multinomial "
          f"{reference['multinomial']['iterations']} iterations")


main()
