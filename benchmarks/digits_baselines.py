"""Reference points for the digits task: classifiers that are not spiking networks, on the
split of bigbrain.models.diehl_cook.load_digits (first 1,497 train, last 300 test).

    python benchmarks/digits_baselines.py [--draws 5]

Prints the held-out accuracy of: 1-nearest-neighbour over all training digits (Euclidean
and cosine), logistic regression, 1-NN over N random training digits (cosine; what a
network of N neurons that stored N training digits as its weights would reach, mean and
standard deviation over ``--draws`` draws), k-means with N centres on the unit-normalised
digits, each centre labelled by its members' majority; and, for comparison, 1-NN on the
last 297 training digits from the first 1,200 (the test digits' writers differ from the
training digits'). N = 100 and 400 (1,600 exceeds the 1,497 training digits: 1-NN over
all of them stands for it).
"""
import argparse

import numpy as np
from sklearn.cluster import KMeans
from sklearn.linear_model import LogisticRegression

from bigbrain.models.diehl_cook import load_digits


def unit(a):
    """Rows scaled to unit length."""
    return a / np.linalg.norm(a, axis=1, keepdims=True)


def nearest(stored, labels, queries):
    """Labels of the stored rows nearest (cosine) to each query."""
    return labels[(unit(queries) @ unit(stored).T).argmax(axis=1)]


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--draws", type=int, default=5)
    args = p.parse_args()
    x, y, xt, yt = load_digits()
    x, xt = x.reshape(len(x), -1) / 16.0, xt.reshape(len(xt), -1) / 16.0
    rows = [("1-NN, all training digits, Euclidean",
             np.mean(y[((xt[:, None, :] - x[None]) ** 2).sum(-1).argmin(1)] == yt)),
            ("1-NN, all training digits, cosine", np.mean(nearest(x, y, xt) == yt)),
            ("logistic regression", LogisticRegression(max_iter=2000).fit(x, y).score(xt, yt))]
    for n in (100, 400):
        accs = [np.mean(nearest(x[i], y[i], xt) == yt) for i in
                (np.random.default_rng(d).choice(len(x), n, replace=False) for d in range(args.draws))]
        rows.append((f"1-NN, {n} random training digits, cosine (sd {100 * np.std(accs):.1f})",
                     np.mean(accs)))
        km = KMeans(n, n_init=1, random_state=0).fit(unit(x))
        majority = np.array([np.bincount(y[km.labels_ == k], minlength=10).argmax()
                             for k in range(n)])
        rows.append((f"k-means, {n} centres, majority labels",
                     np.mean(nearest(km.cluster_centers_, majority, xt) == yt)))
    rows.append(("1-NN, training digits 1,201-1,497 from the first 1,200, cosine",
                 np.mean(nearest(x[:1200], y[:1200], x[1200:]) == y[1200:])))
    print("| classifier | accuracy |\n| --- | ---: |")
    for name, acc in rows:
        print(f"| {name} | {100 * acc:.1f} % |")


if __name__ == "__main__":
    main()
