#!/usr/bin/env python3
"""The blog post's perceptron in numpy, the independent reference for soma.

Prints the starting weights from numpy's seed 1, then the weights after 10,
1000 and 10000 iterations and the prediction for [1, 0, 0]. Its output is
committed as tests/data/post_reference.txt, which tests/test_post.c reads.
Regenerate with:

    /usr/bin/python3 tests/post_reference.py > tests/data/post_reference.txt
"""
import numpy as np


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def main():
    np.random.seed(1)
    w = 2 * np.random.random((3, 1)) - 1
    X = np.array([[0, 0, 1], [1, 1, 1], [1, 0, 1], [0, 1, 1]], dtype=np.float64)
    y = np.array([[0, 1, 1, 0]], dtype=np.float64).T
    print("start %.10f %.10f %.10f" % tuple(w[:, 0]))
    checkpoints = {10, 1000, 10000}
    for i in range(1, 10001):
        out = sigmoid(X @ w)
        err = y - out
        w += X.T @ (err * out * (1 - out))
        if i in checkpoints:
            print("iter %d %.10f %.10f %.10f" % ((i,) + tuple(w[:, 0])))
    print("predict %.10f" % sigmoid(np.array([1, 0, 0]) @ w)[0])


if __name__ == "__main__":
    main()
