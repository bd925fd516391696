#!/usr/bin/python3
"""Reference side of `npm run bench:ml`: scikit-learn RandomForest and xgboost on exactly the matrix and folds that
bench/ml.ts wrote (same rows, same features, same NaN for missing/Infinity), one core each.

Input dir (written by bench/ml.ts): x.f32 (row-major float32, n x f), y.i32 (0/1), fold.i32, meta.json
{"n", "f", "k", "xgb": {...params}, "rf": {...params}}. Output: JSON on stdout with, per model and fold, the
training time in seconds and p_malicious for the test rows (metrics are computed in TypeScript, by the same code
for every model).
"""
import json
import os
import sys
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import sklearn  # noqa: E402
import xgboost as xgb  # noqa: E402
from sklearn.ensemble import RandomForestClassifier  # noqa: E402


def main() -> None:
    d = sys.argv[1]
    meta = json.load(open(os.path.join(d, "meta.json")))
    n, f, k = meta["n"], meta["f"], meta["k"]
    x = np.fromfile(os.path.join(d, "x.f32"), dtype=np.float32).reshape(n, f)
    y = np.fromfile(os.path.join(d, "y.i32"), dtype=np.int32)
    fold = np.fromfile(os.path.join(d, "fold.i32"), dtype=np.int32)
    # sklearn < 1.4 RandomForest rejects NaN: impute with -1 (outside every CIC feature's range).
    x_rf = np.where(np.isnan(x), -1.0, x).astype(np.float32)
    out = {"versions": {"sklearn": sklearn.__version__, "xgboost": xgb.__version__, "numpy": np.__version__}, "xgboost": [], "sklearn_rf": []}
    for i in range(k):
        tr = fold != i
        te = fold == i
        p = meta["xgb"]
        m = xgb.XGBClassifier(
            n_estimators=p["n_estimators"], max_depth=p["max_depth"], learning_rate=p["learning_rate"],
            tree_method="hist", max_bin=p["max_bin"], n_jobs=1, random_state=meta["seed"],
            objective="binary:logistic", reg_lambda=1.0, min_child_weight=1.0,
        )
        t0 = time.perf_counter()
        c0 = time.process_time()
        m.fit(x[tr], y[tr])
        t_train = time.perf_counter() - t0; t_cpu = time.process_time() - c0
        t0 = time.perf_counter()
        pm = m.predict_proba(x[te])[:, 1]
        t_pred = time.perf_counter() - t0
        out["xgboost"].append({"train_s": t_train, "train_cpu_s": t_cpu, "predict_s": t_pred, "p": pm.astype(float).tolist()})
        p = meta["rf"]
        m = RandomForestClassifier(n_estimators=p["n_estimators"], max_features="sqrt", n_jobs=1, random_state=meta["seed"])
        t0 = time.perf_counter()
        c0 = time.process_time()
        m.fit(x_rf[tr], y[tr])
        t_train = time.perf_counter() - t0; t_cpu = time.process_time() - c0
        t0 = time.perf_counter()
        pm = m.predict_proba(x_rf[te])[:, 1]
        t_pred = time.perf_counter() - t0
        out["sklearn_rf"].append({"train_s": t_train, "train_cpu_s": t_cpu, "predict_s": t_pred, "p": pm.astype(float).tolist()})
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
