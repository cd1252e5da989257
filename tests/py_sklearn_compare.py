#!/usr/bin/env python3
"""soma on real public tables, beside scikit-learn's standard pipeline.

Each table is split once (numpy RandomState(0) permutation, 80 % train,
20 % test) and written as train.csv / test.csv from the raw rows, missing
cells and all. soma gets the files as a user would give them, with no option
but the target:

    soma train train.csv --target COL -o m.safetensors --quiet
    soma eval m.safetensors test.csv --json

scikit-learn reads the same two files with pandas and fits the pipeline its
documentation teaches: the identifier and date columns a user would drop
are dropped, numeric columns -> SimpleImputer(mean) + StandardScaler, text
columns -> SimpleImputer(constant "missing") + OneHotEncoder(
handle_unknown="ignore"), then MLPClassifier / MLPRegressor with one hidden
layer of 32 units (random_state=0, max_iter=1000; a regressor's target
standardised by TransformedTargetRegressor(StandardScaler)).

Rows without a target value stay in train.csv (soma leaves them out by
itself; they are dropped here for scikit-learn) and are left out of
test.csv, so both score the same test rows.

The check: soma's held-out accuracy (classification) or R^2 (regression) is
at most 0.02 below scikit-learn's. Both scores are printed either way.

Tables (Debian packages): vega_datasets' cars.json (python3-vega-datasets;
a JSON file, written as CSV with pandas as a user would: nulls become empty
cells), vega_datasets' seattle-weather.csv, and scikit-learn's breast cancer
table, written with load_breast_cancer(as_frame=True) (the CSV file in
sklearn/datasets/data has no header row a user's table would have: its
first line is "569,30,malignant,benign").
"""
import json
import os
import subprocess
import sys
import tempfile
import time

BUILD = os.environ.get("BUILD", "build")
SOMA = os.path.join(BUILD, "soma")
TOLERANCE = 0.02
failures = 0

try:
    import numpy as np
    import pandas as pd
    import sklearn
    from sklearn.compose import ColumnTransformer, TransformedTargetRegressor
    from sklearn.datasets import load_breast_cancer
    from sklearn.impute import SimpleImputer
    from sklearn.metrics import accuracy_score, r2_score
    from sklearn.neural_network import MLPClassifier, MLPRegressor
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler
    import vega_datasets
except ImportError as e:
    print("FAIL sklearn_compare_dependencies")
    print("  %s: this test needs python3-sklearn, python3-pandas and "
          "python3-vega-datasets (make deps installs them; run it with "
          "/usr/bin/python3)" % e)
    sys.exit(1)

VEGA_DATA = os.path.join(os.path.dirname(vega_datasets.__file__), "_data")


def report(name, ok, detail=""):
    global failures
    print(("PASS " if ok else "FAIL ") + name)
    if not ok:
        failures += 1
    if detail:
        print("  " + detail)


def split(df, tmp, target, seed=0):
    """train.csv and test.csv from the raw rows: an 80/20 split by a seeded
    permutation; test rows without a target value are left out."""
    order = np.random.RandomState(seed).permutation(len(df))
    n_train = int(round(0.8 * len(df)))
    train = df.iloc[order[:n_train]]
    test = df.iloc[order[n_train:]]
    test = test[test[target].notna()]
    train_csv = os.path.join(tmp, "train.csv")
    test_csv = os.path.join(tmp, "test.csv")
    train.to_csv(train_csv, index=False)
    test.to_csv(test_csv, index=False)
    return train_csv, test_csv


def soma_score(train_csv, test_csv, target, tmp):
    model = os.path.join(tmp, "m.safetensors")
    subprocess.run([SOMA, "train", train_csv, "--target", target, "-o", model,
                    "--quiet"], check=True)
    out = subprocess.run([SOMA, "eval", model, test_csv, "--json"], check=True,
                         capture_output=True, text=True).stdout
    figures = json.loads(out)
    if figures["task"] == "classification":
        return "accuracy", figures["accuracy"]
    return "r2", figures["targets"][0]["r2"]


def sklearn_score(train_csv, test_csv, target, drop, task):
    train = pd.read_csv(train_csv)
    test = pd.read_csv(test_csv)
    train = train[train[target].notna()]
    x_train = train.drop(columns=[target] + drop)
    x_test = test.drop(columns=[target] + drop)
    categorical = [c for c in x_train.columns if x_train[c].dtype == object]
    numeric = [c for c in x_train.columns if c not in categorical]
    prep = ColumnTransformer([
        ("num", Pipeline([("impute", SimpleImputer(strategy="mean")),
                          ("scale", StandardScaler())]), numeric),
        ("cat", Pipeline([("impute", SimpleImputer(strategy="constant",
                                                   fill_value="missing")),
                          ("onehot", OneHotEncoder(handle_unknown="ignore"))]),
         categorical),
    ])
    if task == "classification":
        model = Pipeline([("prep", prep),
                          ("mlp", MLPClassifier(hidden_layer_sizes=(32,),
                                                random_state=0, max_iter=1000))])
        model.fit(x_train, train[target].astype(str))
        return accuracy_score(test[target].astype(str), model.predict(x_test))
    model = TransformedTargetRegressor(
        regressor=Pipeline([("prep", prep),
                            ("mlp", MLPRegressor(hidden_layer_sizes=(32,),
                                                 random_state=0, max_iter=1000))]),
        transformer=StandardScaler())
    model.fit(x_train, train[target])
    return r2_score(test[target], model.predict(x_test))


def compare(name, df, target, drop, task, seed=0):
    """Both scores on one split; returns (metric, soma, sklearn)."""
    with tempfile.TemporaryDirectory() as tmp:
        train_csv, test_csv = split(df, tmp, target, seed)
        metric, soma = soma_score(train_csv, test_csv, target, tmp)
        expected = "accuracy" if task == "classification" else "r2"
        if metric != expected:
            report(name + "_task", False, "soma chose %s, expected %s"
                   % (metric, expected))
            return metric, soma, None
        sk = sklearn_score(train_csv, test_csv, target, drop, task)
    ok = soma >= sk - TOLERANCE
    report("%s_%s_within_%.2f_of_sklearn" % (name, metric, TOLERANCE), ok,
           "%s: soma %.4f, scikit-learn %.4f (difference %+.4f)"
           % (metric, soma, sk, soma - sk))
    return metric, soma, sk


def tables():
    """(name, DataFrame, target, columns a user drops for sklearn, task)"""
    cars = pd.read_json(os.path.join(VEGA_DATA, "cars.json"))
    weather = pd.read_csv(os.path.join(VEGA_DATA, "seattle-weather.csv"))
    # the frame a user writes with .to_csv(): 30 measurements, target 0/1
    cancer = load_breast_cancer(as_frame=True).frame
    return [
        ("cars_mpg", cars, "Miles_per_Gallon", ["Name", "Year"], "regression"),
        ("seattle_weather", weather, "weather", ["date"], "classification"),
        ("breast_cancer", cancer, "target", [], "classification"),
    ]


def main():
    if not os.access(SOMA, os.X_OK):
        report("sklearn_compare_soma_built", False, SOMA + " is missing: run make")
        sys.exit(1)
    start = time.time()
    for name, df, target, drop, task in tables():
        compare(name, df, target, drop, task)
    print("  (scikit-learn %s, %.1f s)" % (sklearn.__version__, time.time() - start))
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
