"""The low-level package: Dataset, Model, train, errors."""

import ctypes
import math
import os
import pickle
import signal
import threading
import time

import numpy as np
import pytest

import descent
from descent import _capi

SEED_NAMES = ["w1", "b1", "w2", "b2", "w3", "w4", "b3"]
SEED_B3_DEMO = [3.34, -1.43, -3.53, 0.57, -1.22, -2.30, 0.0]
DOSE_X, DOSE_Y = [0.0, 0.5, 1.0], [0.0, 1.0, 0.0]


def seed_model(values=SEED_B3_DEMO):
    m = descent.Model("1 -> 2:softplus -> 1:identity", weight_init=None)
    for k, v in zip(SEED_NAMES, values):
        m[k] = v
    return m


# --- data sets -------------------------------------------------------------


def test_float32_c_order_is_borrowed_not_copied():
    x = np.arange(12, dtype=np.float32).reshape(4, 3)
    d = descent.Dataset(x, np.zeros(4, dtype=np.float32))
    assert d.borrowed
    # The library reads the caller's memory itself.
    assert ctypes.addressof(_capi.dataset_x(d._h).contents) == x.ctypes.data
    assert (d.rows, d.inputs, d.outputs) == (4, 3, 1)


@pytest.mark.parametrize(
    "make",
    [
        lambda a: a.astype(np.float64),
        lambda a: np.asfortranarray(a),
        lambda a: a.astype(np.int32),
        lambda a: np.asfortranarray(a.astype(np.float64)),
        lambda a: a[:, ::1].copy()[::-1][::-1],
    ],
)
def test_other_dtypes_and_orders_convert_to_the_same_rows(make):
    x = np.arange(12, dtype=np.float32).reshape(4, 3)
    d = descent.Dataset(make(x), [1, 2, 3, 4])
    xs, ys = d.to_numpy()
    assert np.array_equal(xs, x)
    assert np.array_equal(ys.ravel(), [1, 2, 3, 4])


def test_a_strided_view_is_copied_and_read_correctly():
    big = np.arange(40, dtype=np.float32).reshape(8, 5)
    view = big[1::2, 1:4]
    d = descent.Dataset(view)
    assert not d.borrowed
    assert np.array_equal(d.to_numpy()[0], view)
    assert d.outputs == 0


@pytest.mark.parametrize("bad,word", [(np.nan, "NaN"), (np.inf, "infinite"), (-np.inf, "infinite")])
def test_non_finite_inputs_raise_descents_message(bad, word):
    x = np.ones((3, 2))
    x[2, 1] = bad
    with pytest.raises(descent.InvalidArgumentError, match=f"row 3, column 2 is {word}") as e:
        descent.Dataset(x, [1, 2, 3])
    assert isinstance(e.value, ValueError) and isinstance(e.value, descent.Error)
    with pytest.raises(descent.InvalidArgumentError, match="target value at row 2, column 1 is NaN"):
        descent.Dataset(np.ones((3, 2)), [1, np.nan, 3])


def test_shapes_that_disagree_raise():
    with pytest.raises(descent.ShapeError, match="x has 3 rows, y 2"):
        descent.Dataset(np.ones((3, 2)), [1, 2])
    with pytest.raises(descent.ShapeError, match="3-D"):
        descent.Dataset(np.ones((2, 2, 2)))
    with pytest.raises(descent.InvalidArgumentError, match="at least one row"):
        descent.Dataset(np.ones((0, 2)))
    with pytest.raises(descent.InvalidArgumentError, match="not numbers"):
        descent.Dataset(np.array([["a", "b"]], dtype=object))


def test_labels_become_one_hot_over_sorted_classes():
    d = descent.Dataset(np.zeros((4, 1)), labels=["b", "a", "c", "a"])
    assert list(d.classes) == ["a", "b", "c"]
    y = d.to_numpy()[1]
    assert np.array_equal(y, [[0, 1, 0], [1, 0, 0], [0, 0, 1], [1, 0, 0]])
    ints = descent.Dataset(np.zeros((3, 1)), labels=np.array([7, -2, 7]))
    assert list(ints.classes) == [-2, 7]


def test_a_label_unseen_among_the_classes_is_named():
    with pytest.raises(descent.NotFoundError, match="label 'z' at row 2 is not one of the 2 classes"):
        descent.Dataset(np.zeros((2, 1)), labels=["a", "z"], classes=["a", "b"])
    with pytest.raises(descent.NotFoundError, match="label '5' at row 1"):
        descent.Dataset(np.zeros((1, 1)), labels=[5], classes=[1, 2])


def test_csv_errors_carry_file_line_and_column(tmp_path):
    p = tmp_path / "bad.csv"
    p.write_text("a,b\n1,2\noops,3\n")
    with pytest.raises(descent.FormatError, match=r"bad\.csv:3:1: 'oops' is not a number"):
        descent.Dataset.from_csv(p)
    with pytest.raises(descent.FileError) as e:
        descent.Dataset.from_csv(tmp_path / "missing.csv")
    assert isinstance(e.value, OSError)
    with pytest.raises(descent.NotFoundError, match="nope"):
        descent.Dataset.from_csv(_good_csv(tmp_path), target="nope")


def _good_csv(tmp_path):
    p = tmp_path / "ok.csv"
    p.write_text("x,y,kind\n1,2,a\n3,4,b\n5,6,a\n")
    return p


def test_csv_class_labels_and_names(tmp_path):
    d = descent.Dataset.from_csv(_good_csv(tmp_path), target="kind")
    assert d.names == ["x", "y"] and d.target == "kind"
    assert list(d.classes) == ["a", "b"]
    tr, va = d.split(0.34, seed=1)
    assert tr.rows + va.rows == 3 and list(tr.classes) == ["a", "b"]


# --- models ---------------------------------------------------------------


def test_the_seeds_b3_derivative_and_explanation():
    m = seed_model()
    d = descent.Dataset(DOSE_X, DOSE_Y)
    text = m.explain(d, "b3", loss="ssr")
    assert "dSSR/db3 = -5.207 - 5.218 - 5.23 = -15.6551" in text
    assert "(backpropagation gives -15.6551)" in text
    js = m.explain(d, ["b3"], loss="ssr", json=True)
    assert js.startswith("{") and '"b3"' in js
    with pytest.raises(descent.NotFoundError, match="w99"):
        m.explain(d, "w99")


def test_parameters_by_name_and_as_an_array():
    m = seed_model()
    assert m["w3"] == pytest.approx(-1.22)
    assert sorted(m.param_names) == sorted(SEED_NAMES) and m.param_names[-1] == "b3"
    p = m.params
    p[6] = 2.5
    m.params = p
    assert m["b3"] == 2.5
    assert m["layer2.weight"].shape == (2,)
    with pytest.raises(descent.NotFoundError):
        m["w8"]
    with pytest.raises(descent.ShapeError):
        m.params = np.zeros(3)


def test_a_bad_spec_raises_descents_message():
    with pytest.raises(descent.FormatError):
        descent.Model("2 -> 3:nope -> 1:identity")


def test_save_load_bytes_and_pickle_round_trips(tmp_path):
    r = descent.train(
        np.random.RandomState(1).normal(size=(64, 3)),
        np.random.RandomState(2).normal(size=(64, 2)),
        layers="8:tanh",
        optimizer="adam",
        epochs=5,
        batch=16,
        standardize=True,
    )
    m = r.model
    x = np.random.RandomState(3).normal(size=(10, 3))
    want = m.predict(x)
    path = tmp_path / "m.model"
    m.save(path)
    loaded = descent.Model.load(path)
    assert path.read_bytes() == m.to_bytes()
    for other in (loaded, descent.Model.from_bytes(m.to_bytes()), pickle.loads(pickle.dumps(m)), m.copy()):
        assert np.array_equal(other.predict(x), want)
        assert other.spec == m.spec
        assert other.summary["optimizer"] == "adam"
        assert np.array_equal(other.standardization["input_mean"], m.standardization["input_mean"])
    with pytest.raises(descent.FormatError, match="truncated|short|magic|CRC|end"):
        descent.Model.from_bytes(m.to_bytes()[:-9], name="cut")


def test_predict_checks_shape_and_values():
    m = descent.Model("3 -> 4:relu -> 2:identity")
    assert m.predict(np.zeros((5, 3))).shape == (5, 2)
    assert m.predict(np.zeros((0, 3))).shape == (0, 2)
    with pytest.raises(descent.ShapeError, match="2 input columns; the model .* takes 3"):
        m.predict(np.zeros((5, 2)))
    x = np.zeros((4, 3))
    x[3, 0] = np.nan
    with pytest.raises(descent.InvalidArgumentError, match="input value at row 4, column 1 is NaN"):
        m.predict(x)


def test_predict_matches_columns_of_a_frame_by_name():
    pd = pytest.importorskip("pandas")
    rng = np.random.RandomState(0)
    df = pd.DataFrame(rng.normal(size=(20, 3)), columns=["a", "b", "c"])
    r = descent.train(df, rng.normal(size=20), layers="4:tanh", max_iter=10)
    m = r.model
    assert m.input_names == ["a", "b", "c"]
    assert np.array_equal(m.predict(df[["c", "a", "b"]]), m.predict(df.to_numpy()))
    with pytest.raises(descent.NotFoundError, match="'b' is not in the data"):
        m.predict(df[["a", "c"]].rename(columns={"c": "z"}))


# --- training -------------------------------------------------------------


def test_the_seeds_network_trains_as_the_seed_says():
    # The seed's demo: b3 alone from 0, learning rate 0.1, ends near 2.61.
    m = seed_model()
    r = descent.train(DOSE_X, DOSE_Y, model=m, loss="ssr", lr=0.1, only="b3")
    assert r.model is m and r.stop == "step_size"
    assert m["b3"] == pytest.approx(2.61, abs=0.01)
    assert m["w1"] == pytest.approx(3.34)  # only b3 moved


def test_defaults_are_the_seeds_full_batch_rules():
    r = descent.train(DOSE_X, DOSE_Y, layers="2:softplus")
    assert r.stop in ("step_size", "max_iter") and r.iterations <= 1000
    assert r.epochs == 0 and r.loss_name == "mse" and r.status == "ok"


def test_classification_from_labels(blobs):
    x, y = blobs
    names = np.array(["setosa", "versicolor", "virginica"])[y]
    d = descent.Dataset(x, labels=names)
    r = descent.train(d, layers="8:relu", optimizer="adam", lr=0.01, epochs=30, batch=16, val=0.2)
    m = r.model
    assert m.classes == ["setosa", "versicolor", "virginica"]
    assert m.spec == "4 -> 8:relu -> 3:softmax" and r.loss_name == "ce"
    labels, prob = m.predict_label(x)
    assert np.mean(labels == names) > 0.95
    assert np.all((prob > 0.3) & (prob <= 1))
    assert r.accuracy > 0.9 and not math.isnan(r.val_loss)
    assert len(r.history) == r.epochs == 30
    ev = m.evaluate(d)
    assert ev["accuracy"] == pytest.approx(np.mean(labels == names))
    assert ev["confusion"].sum() == 150


def test_a_callback_sees_progress_and_can_stop():
    seen = []

    def cb(p):
        seen.append(p)
        return p.epoch == 3

    x = np.random.RandomState(0).normal(size=(100, 2))
    r = descent.train(x, x.sum(axis=1), optimizer="adam", epochs=50, batch=10, callback=cb)
    assert r.status == "cancelled" and r.stop == "callback" and r.epochs == 3
    assert [p.epoch for p in seen] == [1, 2, 3] and all(p.epochs == 50 for p in seen)
    assert seen[1].iteration == -1 or seen[1].iteration >= 0
    # Full batch: called after every update.
    steps = []
    descent.train(x, x.sum(axis=1), max_iter=7, tol=0, callback=lambda p: steps.append(p.iteration))
    assert steps == [1, 2, 3, 4, 5, 6, 7]


def test_an_exception_in_the_callback_stops_the_run_and_comes_out():
    def cb(p):
        raise RuntimeError("from the callback")

    with pytest.raises(RuntimeError, match="from the callback"):
        descent.train(DOSE_X, DOSE_Y, epochs=5, batch=1, callback=cb)


def test_divergence_raises_with_the_run_attached():
    x = np.linspace(0, 10, 50)
    with pytest.raises(descent.DivergedError) as e:
        descent.train(x, 3 * x, lr=10.0, max_iter=500, tol=0)
    assert isinstance(e.value, ArithmeticError)
    assert e.value.result.stop == "diverged"
    assert np.all(np.isfinite(e.value.result.model.params))


def test_bad_options_raise_before_training():
    with pytest.raises(descent.InvalidArgumentError, match="optimizer"):
        descent.train(DOSE_X, DOSE_Y, optimizer="adamz")
    with pytest.raises(descent.InvalidArgumentError, match="lr must be positive"):
        descent.train(DOSE_X, DOSE_Y, lr=0)
    with pytest.raises(descent.InvalidArgumentError, match="patience needs val"):
        descent.train(DOSE_X, DOSE_Y, patience=3)
    with pytest.raises(descent.NotFoundError, match="w9"):
        descent.train(DOSE_X, DOSE_Y, layers="2:softplus", only="w9")
    with pytest.raises(descent.InvalidArgumentError, match="full batch"):
        descent.train(DOSE_X, DOSE_Y, optimizer="lbfgs", epochs=3)


def test_init_from_a_dict_or_a_file(tmp_path):
    f = tmp_path / "init.txt"
    f.write_text("# the seed's start\n" + "\n".join(f"{k} {v}" for k, v in zip(SEED_NAMES, SEED_B3_DEMO)))
    a = descent.train(DOSE_X, DOSE_Y, layers="2:softplus", init=f, max_iter=0).model
    b = descent.train(DOSE_X, DOSE_Y, layers="2:softplus", init=dict(zip(SEED_NAMES, SEED_B3_DEMO)), max_iter=0).model
    assert np.array_equal(a.params, b.params) and a["w2"] == pytest.approx(-3.53)
    f.write_text("w1 2\nw1 x\n")
    with pytest.raises(descent.InvalidArgumentError, match=r"init\.txt:2"):
        descent.train(DOSE_X, DOSE_Y, layers="2:softplus", init=f)


def test_log_save_and_checkpoints_resume_to_the_same_model(tmp_path):
    rng = np.random.RandomState(4)
    x = rng.normal(size=(200, 3))
    y = x @ [1.0, -2.0, 0.5]
    opts = dict(layers="6:tanh", optimizer="adam", lr=0.01, batch=20, seed=5)
    full = descent.train(x, y, epochs=6, **opts).model
    save = tmp_path / "m.model"
    log = tmp_path / "log.jsonl"
    descent.train(x, y, epochs=3, save=save, checkpoint_every=3, log=log, **opts)
    lines = log.read_text().splitlines()
    assert len(lines) == 3 and '"epoch": 3' in lines[2]
    resumed = descent.train(x, y, epochs=6, resume=str(save) + ".ckpt", **opts).model
    assert np.array_equal(resumed.params, full.params)
    assert descent.Model.load(save).spec == full.spec


def test_ctrl_c_stops_training_keeps_and_saves_the_model(tmp_path):
    if threading.current_thread() is not threading.main_thread():
        pytest.skip("signals reach the main thread only")
    x = np.random.RandomState(0).normal(size=(2000, 8))
    y = x.sum(axis=1)
    save = tmp_path / "interrupted.model"
    timer = threading.Timer(0.5, lambda: os.kill(os.getpid(), signal.SIGINT))
    timer.start()
    t0 = time.time()
    with pytest.raises(descent.TrainingInterrupted) as e:
        descent.train(x, y, layers="32:relu", optimizer="adam", epochs=100000, batch=8, save=save)
    assert time.time() - t0 < 60
    assert isinstance(e.value, KeyboardInterrupt)
    r = e.value.result
    assert r.stop == "callback" and r.iterations > 0
    assert "the model so far is saved" in str(e.value)
    assert np.array_equal(descent.Model.load(save).params, r.model.params)


def test_errors_map_every_status():
    assert descent.errors.error_for(4, "x").__class__ is descent.FormatError
    for code, cls in descent.errors._BY_STATUS.items():
        assert _capi.text(_capi.strerror(code)) != "unknown status"
        assert cls.status == code
    e = descent.errors.error_for(3, "cannot read x")
    assert isinstance(e, OSError) and str(e) == "cannot read x"


def test_size_limits_refuse_large_inputs_with_descents_message(tmp_path):
    p = tmp_path / "rows.csv"
    p.write_text("x,y\n" + "".join(f"{i},{2 * i}\n" for i in range(50)))
    with pytest.raises(descent.LimitError, match="rows.csv") as e:
        descent.train(p, max_rows=10)
    assert isinstance(e.value, ValueError)
    with pytest.raises(descent.LimitError):
        descent.Dataset.from_csv(p, limits={"max_bytes": "100"})
    assert descent.Dataset.from_csv(p, limits={"max_bytes": "1K", "max_rows": 0}).rows == 50
    with pytest.raises(descent.InvalidArgumentError, match="whole number"):
        descent.train(p, max_bytes="12X")
    m = descent.Model("1 -> 64:relu -> 1:identity")
    m.save(tmp_path / "m.model")
    with pytest.raises(descent.LimitError):
        descent.Model.load(tmp_path / "m.model", limits={"max_bytes": 64})
