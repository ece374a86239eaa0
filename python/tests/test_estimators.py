"""DescentClassifier and DescentRegressor: scikit-learn's own checks, round
trips, pipelines and searches, frames, partial_fit, errors, threads."""

import pickle
import threading
import warnings

import numpy as np
import pytest

sklearn = pytest.importorskip("sklearn")
from sklearn.base import clone  # noqa: E402
from sklearn.datasets import load_iris, make_regression  # noqa: E402
from sklearn.model_selection import GridSearchCV, cross_val_score  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from sklearn.utils.estimator_checks import check_estimator, parametrize_with_checks  # noqa: E402

import descent  # noqa: E402
from descent import DescentClassifier, DescentRegressor  # noqa: E402


# Every check of scikit-learn's check_estimator, one test each; none skipped.
@parametrize_with_checks([DescentClassifier(), DescentRegressor()])
def test_sklearn_check(estimator, check):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=FutureWarning)
        check(estimator)


def test_check_estimator_runs_the_checks_we_expect():
    # The list above is scikit-learn's: make sure it is not empty or tiny.
    names = [c.func.__name__ if hasattr(c, "func") else c.__name__
             for _, c in check_estimator(DescentClassifier(), generate_only=True)]
    assert len(names) > 40 and "check_methods_subset_invariance" in names


@pytest.fixture(scope="module")
def iris():
    return load_iris(return_X_y=True)


@pytest.fixture(scope="module")
def fitted(iris):
    X, y = iris
    return DescentClassifier("16:relu", lr=0.01, random_state=0).fit(X, y)


def test_iris_is_learned(fitted, iris):
    X, y = iris
    assert fitted.score(X, y) > 0.95
    assert list(fitted.classes_) == [0, 1, 2] and fitted.n_features_in_ == 4
    assert fitted.model_.classes == ["0", "1", "2"]
    assert fitted.n_iter_ == len(fitted.loss_curve_) >= 10
    p = fitted.predict_proba(X)
    assert p.shape == (150, 3) and np.allclose(p.sum(axis=1), 1, rtol=0, atol=1e-12)


def test_pickle_and_save_load_give_the_same_predictions(fitted, iris, tmp_path):
    X, _ = iris
    want = fitted.predict_proba(X)
    blob = pickle.dumps(fitted)
    back = pickle.loads(blob)
    assert np.array_equal(back.predict_proba(X), want)
    assert np.array_equal(back.predict(X), fitted.predict(X))
    # The model travels as descent's model file.
    assert fitted.model_.to_bytes() in blob
    path = tmp_path / "iris.model"
    fitted.model_.save(path)
    m = descent.Model.load(path)
    assert np.array_equal(m.predict(X.astype(np.float32)), fitted.model_.predict(X))


def test_partial_fit_goes_on_from_fit(iris):
    X, y = iris
    a = DescentClassifier("8:relu", epochs=5, tol=None, random_state=1).fit(X, y)
    before = a.model_.params
    a.partial_fit(X, y)
    assert a.n_iter_ == 6 and not np.array_equal(a.model_.params, before)
    b = DescentClassifier("8:relu", random_state=1)
    b.partial_fit(X[:50], y[:50], classes=[0, 1, 2])
    b.partial_fit(X[50:], y[50:])
    assert list(b.classes_) == [0, 1, 2] and b.n_iter_ == 2
    with pytest.raises(ValueError, match="classes must be given"):
        DescentClassifier().partial_fit(X, y)


def test_partial_fit_keeps_the_optimizer_state(iris):
    # Two partial_fits on the same data are two epochs of one run: Adam's
    # moments and step count carry over.
    X, y = iris
    Xs = StandardScaler().fit_transform(X)
    kw = dict(layers="8:relu", batch=150, standardize=False, random_state=4)
    one = DescentClassifier(epochs=2, tol=None, **kw).fit(Xs, y)
    two = DescentClassifier(epochs=1, tol=None, **kw).fit(Xs, y)
    two.random_state = None  # partial_fit's own seed only shuffles, batch = all rows
    two.partial_fit(Xs, y)
    assert np.allclose(one.model_.params, two.model_.params, rtol=0, atol=1e-6)


def test_the_state_kept_is_the_one_where_the_loss_rule_stopped(iris):
    # The stop rule runs after the epoch's checkpoint: partial_fit then
    # goes on from the moments and step count of the last update made.
    X, y = iris
    est = DescentClassifier("8:relu", batch=30, tol=1e-2, n_iter_no_change=2, random_state=0).fit(X, y)
    assert est.n_iter_ < est.epochs  # stopped by the rule
    st = est._optimizer_state
    assert st.iterations == est.train_result_.iterations == est.n_iter_ * 5
    assert st.optimizer_t == st.iterations


@pytest.mark.parametrize("layers, activation", [("7:relu", "relu"), ("7:sigmoid,5:sigmoid", "logistic")])
def test_starts_from_mlpclassifiers_numbers(layers, activation):
    # MLP's own _init_coef (weights and biases, Glorot uniform; factor 2
    # before logistic units) from the same int random_state: the same start.
    from sklearn.neural_network import MLPClassifier
    from sklearn.utils import check_random_state

    sizes = [4] + [int(part.split(":")[0]) for part in layers.split(",")] + [3]
    mlp = MLPClassifier(hidden_layer_sizes=tuple(sizes[1:-1]), activation=activation, random_state=11)
    mlp._random_state = check_random_state(11)
    want = []
    for fan_in, fan_out in zip(sizes, sizes[1:]):
        coef, intercept = mlp._init_coef(fan_in, fan_out, np.float64)
        want += [coef.T.ravel(), intercept]
    m = DescentClassifier(layers, random_state=11)._new_model(4, 3, 0)
    assert np.array_equal(m.params, np.concatenate(want).astype(np.float32))


def test_the_stopping_rule_is_mlpclassifiers():
    # MLPClassifier's own loss curves, replayed through the estimators'
    # rule: it stops at the epoch MLP stopped.
    from sklearn.datasets import load_digits
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    from descent.estimators import _EarlyStop
    from descent.training import Progress

    X, y = load_digits(return_X_y=True)
    X = StandardScaler().fit_transform(X[:600])
    for tol, n, batch in ((1e-2, 2, 200), (1e-3, 5, 200), (1e-4, 10, 64)):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            mlp = MLPClassifier(
                (20,), tol=tol, n_iter_no_change=n, batch_size=batch, max_iter=300, random_state=0
            )
            mlp.fit(X, y[:600])
        assert mlp.n_iter_ < 300
        rule = _EarlyStop(tol, n, False)
        stops = [rule(Progress(e + 1, 300, -1, loss, float("nan"), 0.0)) for e, loss in enumerate(mlp.loss_curve_)]
        assert stops.index(True) == mlp.n_iter_ - 1 and stops.count(True) == 1


def test_the_librarys_stopping_rule_is_the_python_one(iris, capsys):
    # The rule runs in the library (no call into Python per epoch) unless
    # verbose prints each epoch, where _EarlyStop decides: both stop at the
    # same epoch with the same model, loss curve and optimizer state.
    X, y = iris
    for tol, n in ((1e-2, 2), (1e-3, 0), (3e-3, 1)):
        kw = dict(layers="8:relu", batch=30, tol=tol, n_iter_no_change=n, epochs=300, random_state=3)
        lib = DescentClassifier(**kw).fit(X, y)
        py = DescentClassifier(verbose=True, **kw).fit(X, y)
        assert lib.n_iter_ == py.n_iter_ == len(lib.loss_curve_) < 300
        assert lib.train_result_.stop == "no_change" and py.train_result_.stop == "callback"
        assert lib.loss_curve_ == py.loss_curve_
        assert np.array_equal(lib.model_.params, py.model_.params)
        a, b = lib._optimizer_state, py._optimizer_state
        assert a.iterations == b.iterations and np.array_equal(a.state, b.state)
    capsys.readouterr()
    with pytest.raises(descent.InvalidArgumentError, match="n_iter_no_change"):
        DescentClassifier(n_iter_no_change=-1).fit(X, y)


def test_alpha_is_in_the_loss_as_mlp_puts_it(iris):
    # One full-batch epoch: its loss is the loss at the starting weights
    # plus alpha / 2 ||W||^2 / rows, weights only (MLP's _backprop).
    X, y = iris
    X = X.astype(np.float32)
    kw = dict(layers="6:relu", epochs=1, tol=None, batch=0, standardize=False, random_state=5)
    start = DescentClassifier(**kw)._new_model(4, 3, 0)
    start.classes = ["0", "1", "2"]
    data = descent.Dataset(X, np.eye(3, dtype=np.float32)[y])
    w = start.params[[name.startswith("w") for name in start.param_names]]
    for alpha in (0.0, 1e-4, 5.0):
        est = DescentClassifier(alpha=alpha, **kw).fit(X, y)
        want = start.loss(data, "ce") + 0.5 * alpha * float(np.sum(w.astype(np.float64) ** 2)) / 150
        assert est.loss_curve_[0] == pytest.approx(want, rel=1e-5)
    assert DescentClassifier().get_params()["alpha"] == 1e-4
    with pytest.raises(descent.InvalidArgumentError, match="alpha"):
        DescentClassifier(alpha=-1.0).fit(X, y)


def test_string_labels_unseen_in_fit_raise_descents_message(iris):
    X, y = iris
    names = np.array(["setosa", "versicolor", "virginica"])[y]
    clf = DescentClassifier("4:relu", epochs=2, random_state=0)
    clf.partial_fit(X, names, classes=["setosa", "versicolor", "virginica"])
    bad = names.copy()
    bad[7] = "daisy"
    with pytest.raises(descent.NotFoundError, match="label 'daisy' at row 8 is not one of the 3 classes") as e:
        clf.partial_fit(X, bad)
    assert isinstance(e.value, LookupError)


def test_nan_and_wrong_shapes_raise(fitted, iris):
    X, y = iris
    Xn = X.copy()
    Xn[4, 2] = np.nan
    with pytest.raises(descent.InvalidArgumentError, match="input value at row 5, column 3 is NaN"):
        clone(fitted).fit(Xn, y)
    with pytest.raises(descent.InvalidArgumentError, match="row 5, column 3 is NaN"):
        fitted.predict(Xn)
    with pytest.raises(ValueError, match="X has 3 features, but DescentClassifier is expecting 4"):
        fitted.predict(X[:, :3])
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        clone(fitted).fit(X, y[:-1])
    with pytest.raises(ValueError, match="at least 2 classes"):
        clone(fitted).fit(X, np.zeros(150))
    yn = np.asarray(X[:, 0]).copy()
    yn[3] = np.inf
    with pytest.raises(descent.InvalidArgumentError, match="target value at row 4, column 1 is infinite"):
        DescentRegressor().fit(X, yn)
    with pytest.raises(descent.InvalidArgumentError, match="spec string"):
        DescentClassifier(layers=(100,)).fit(X, y)


def test_pipeline_grid_search_and_cross_validation(iris):
    X, y = iris
    pipe = make_pipeline(StandardScaler(), DescentClassifier("8:relu", standardize=False, lr=0.01, random_state=0))
    scores = cross_val_score(pipe, X, y, cv=3)
    assert scores.mean() > 0.85
    grid = GridSearchCV(
        DescentClassifier(random_state=0, lr=0.01),
        {"layers": ["", "8:relu"], "epochs": [20, 60]},
        cv=3,
    ).fit(X, y)
    assert grid.best_score_ > 0.85 and set(grid.best_params_) == {"layers", "epochs"}
    assert grid.best_estimator_.get_params()["layers"] in ("", "8:relu")


def test_feature_names_from_a_frame_reach_the_model(iris):
    pd = pytest.importorskip("pandas")
    X, y = iris
    cols = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
    df = pd.DataFrame(X, columns=cols)
    target = pd.Series(np.array(["a", "b", "c"])[y], name="species")
    clf = DescentClassifier("8:relu", epochs=20, random_state=0).fit(df, target)
    assert list(clf.feature_names_in_) == cols
    assert clf.model_.input_names == cols and clf.model_.target == "species"
    assert clf.predict(df).dtype == object and set(clf.predict(df)) <= {"a", "b", "c"}
    reg = DescentRegressor("4:tanh", epochs=5, random_state=0).fit(df, pd.Series(X[:, 0], name="len"))
    assert reg.model_.target == "len" and list(reg.feature_names_in_) == cols


def test_regressor_learns_several_outputs():
    X, Y = make_regression(n_samples=400, n_features=6, n_targets=2, noise=1.0, random_state=0)
    reg = DescentRegressor("32:relu", lr=0.01, random_state=0).fit(X, Y)
    assert reg.predict(X).shape == (400, 2)
    assert reg.score(X, Y) > 0.95
    one = DescentRegressor("32:relu", lr=0.01, random_state=0).fit(X, Y[:, 0])
    assert one.predict(X).shape == (400,)


def test_random_state_gives_the_same_model_bit_for_bit(iris):
    X, y = iris
    a = DescentClassifier("8:relu", epochs=15, random_state=42).fit(X, y)
    b = DescentClassifier("8:relu", epochs=15, random_state=42).fit(X, y)
    c = DescentClassifier("8:relu", epochs=15, random_state=43).fit(X, y)
    assert np.array_equal(a.model_.params, b.model_.params)
    assert not np.array_equal(a.model_.params, c.model_.params)


def test_predicting_from_many_threads_at_once(fitted):
    rng = np.random.RandomState(0)
    X = rng.normal(size=(3000, 4)) * 2 + 4
    want = fitted.predict_proba(X)
    errors, results = [], {}

    def work(i):
        try:
            for k in range(10):
                part = slice((i * 97 + k * 13) % 2000, (i * 97 + k * 13) % 2000 + 1000)
                got = fitted.predict_proba(X[part])
                if not np.array_equal(got, want[part]):
                    errors.append(f"thread {i}: different predictions")
            results[i] = True
        except Exception as e:  # noqa: BLE001
            errors.append(repr(e))

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and len(results) == 8


def test_fit_releases_the_gil():
    # While one thread trains (inside the library), another runs Python.
    rng = np.random.RandomState(0)
    X = rng.normal(size=(4000, 20))
    y = (X[:, 0] > 0).astype(int)
    ticks = []
    stop = threading.Event()

    def count():
        while not stop.is_set():
            ticks.append(1)

    t = threading.Thread(target=count)
    t.start()
    DescentClassifier("32:relu", epochs=4, tol=None, random_state=0).fit(X, y)
    stop.set()
    t.join()
    assert len(ticks) > 100


def test_verbose_prints_the_loss(iris, capsys):
    X, y = iris
    DescentClassifier("4:relu", epochs=3, verbose=True, random_state=0).fit(X, y)
    out = capsys.readouterr().out
    assert out.count("loss = ") == 3
