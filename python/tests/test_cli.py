"""The package and the command line agree: option names and defaults,
training results, predictions on the same model and data, explanations."""

import inspect
import json
import re

import numpy as np
import pytest

import descent
from conftest import run_cli, write_csv


def help_options(cli, command):
    """(name, help text) of every option of `descent COMMAND --help`."""
    out = run_cli(cli, command, "--help").stdout
    opts = []
    for line in out.splitlines():
        m = re.match(r"\s+--([a-z0-9-]+)(?: \S+)?\s{2,}(.*)$", line)
        if m and m.group(1) != "help":
            opts.append((m.group(1), m.group(2)))
    return opts


def test_train_has_every_option_of_the_command_line(cli):
    params = inspect.signature(descent.train).parameters
    opts = help_options(cli, "train")
    assert len(opts) > 40
    missing = [
        name
        for name, _ in opts
        if name.replace("-", "_") not in params and name.replace("-", "_") not in descent.CLI_ONLY_OPTIONS
    ]
    assert not missing, f"descent train options without a train() keyword: {missing}"
    # Python's own additions are the positional data and the callback.
    extra = set(params) - {n.replace("-", "_") for n, _ in opts} - {"y", "callback"}
    assert not extra, f"train() keywords the command line does not have: {extra}"


def test_train_defaults_are_the_command_lines(cli):
    params = inspect.signature(descent.train).parameters
    checked = 0
    for name, text in help_options(cli, "train"):
        m = re.search(r"\(([^()]*)\)\s*$", text)
        key = name.replace("-", "_")
        if not m or key not in params or key == "gemm":
            continue  # gemm=None: leave the process's choice (builtin unless changed)
        shown, default = m.group(1), params[key].default
        try:
            number = 0.0 if shown == "off" else float(shown)
        except ValueError:
            # A word is a default when the help lists it among the choices.
            if re.fullmatch(r"[a-z_]+", shown) and re.search(rf"\b{shown}\b", text[: m.start()]):
                assert default == shown, f"--{name} defaults to {shown}, train() to {default!r}"
                checked += 1
            continue
        assert default is not None and float(default) == number, (
            f"--{name} defaults to {shown}, train() to {default!r}"
        )
        checked += 1
    assert checked >= 10


def f32(v):
    return np.float32(v)


def test_full_batch_defaults_train_to_the_same_bits(cli, tmp_path):
    path = tmp_path / "dose.csv"
    write_csv(path, ["dose", "eff"], [[0.0, 0.0], [0.5, 1.0], [1.0, 0.0]])
    js = json.loads(run_cli(cli, "train", "--data", str(path), "--layers", "2:softplus", "--json").stdout)
    r = descent.train(path, layers="2:softplus")
    assert r.iterations == js["iterations"] and r.stop == js["stop"]
    assert f32(r.loss) == f32(js["loss"])
    for name, v in js["params"].items():
        assert f32(r.model[name]) == f32(v), name


def test_minibatch_run_with_validation_gives_the_same_model(cli, tmp_path, blobs):
    x, y = blobs
    path = tmp_path / "blobs.csv"
    names = np.array(["a", "b", "c"])[y]
    write_csv(path, ["f1", "f2", "f3", "f4", "kind"], [list(map(np.float32, r)) + [k] for r, k in zip(x, names)])
    args = dict(layers="8:relu", optimizer="adam", lr=0.01, epochs=7, batch=16, val=0.25, standardize=True, seed=9)
    saved = tmp_path / "cli.model"
    run_cli(
        cli, "train", "--data", str(path), "--target", "kind", "--layers", "8:relu", "--optimizer", "adam",
        "--lr", "0.01", "--epochs", "7", "--batch", "16", "--val", "0.25", "--standardize", "--seed", "9",
        "--save", str(saved), "--quiet",
    )
    mine = descent.train(path, target="kind", **args).model
    theirs = descent.Model.load(saved)
    assert theirs.classes == mine.classes == ["a", "b", "c"]
    assert np.array_equal(theirs.params, mine.params)
    assert mine.input_names == ["f1", "f2", "f3", "f4"]


def parse_predictions(text):
    lines = text.strip().splitlines()
    return lines[0], [line.split(",") for line in lines[1:]]


def test_classifier_predictions_equal_the_command_lines(cli, tmp_path, blobs):
    pd = pytest.importorskip("pandas")
    x, y = blobs
    x = x.astype(np.float32)
    labels = np.array(["north", "south", "east"])[y]
    frame = pd.DataFrame(x, columns=["w", "x", "y", "z"])
    clf = descent.DescentClassifier("6:tanh", epochs=40, random_state=3).fit(frame, labels)
    model_path = tmp_path / "clf.model"
    clf.model_.save(model_path)
    # The tool matches columns by name: give them in another order, with an id.
    test = tmp_path / "new.csv"
    order = ["z", "id", "x", "w", "y"]
    rows = [[frame[c][i] if c != "id" else i for c in order] for i in range(len(frame))]
    write_csv(test, order, rows)
    header, out = parse_predictions(run_cli(cli, "predict", "--model", str(model_path), "--data", str(test)).stdout)
    assert header == "label,probability"
    cli_labels = np.array([r[0] for r in out])
    cli_prob = np.array([np.float32(r[1]) for r in out])
    assert np.array_equal(cli_labels, clf.predict(frame))
    lab, prob = clf.model_.predict_label(frame)
    assert np.array_equal(lab, cli_labels)
    assert np.array_equal(prob.astype(np.float32), cli_prob)  # the same bits
    assert np.allclose(clf.predict_proba(frame).max(axis=1), cli_prob, rtol=1e-6)


def test_regressor_predictions_equal_the_command_lines(cli, tmp_path):
    rng = np.random.RandomState(5)
    x = rng.normal(size=(300, 3)).astype(np.float32)
    y = (x @ [1.5, -2.0, 0.3] + np.sin(x[:, 0])).astype(np.float32)
    reg = descent.DescentRegressor("16:relu", lr=0.01, epochs=100, random_state=1).fit(x, y)
    path = tmp_path / "reg.model"
    reg.model_.save(path)
    data = tmp_path / "x.csv"
    write_csv(data, ["a", "b", "c"], x)
    header, out = parse_predictions(run_cli(cli, "predict", "--model", str(path), "--data", str(data)).stdout)
    cli_y = np.array([np.float32(r[0]) for r in out])
    assert np.array_equal(cli_y, reg.predict(x).astype(np.float32))
    assert reg.score(x, y) > 0.9


def test_a_model_the_tool_trained_predicts_alike_in_python(cli, tmp_path):
    rng = np.random.RandomState(8)
    x = rng.uniform(-1, 1, size=(80, 2)).astype(np.float32)
    y = (x[:, :1] ** 2 - x[:, 1:]).astype(np.float32)
    data = tmp_path / "d.csv"
    write_csv(data, ["p", "q", "t"], np.hstack([x, y]))
    model = tmp_path / "m.model"
    run_cli(cli, "train", "--data", str(data), "--layers", "5:softplus", "--optimizer", "adam", "--epochs", "20",
            "--batch", "8", "--standardize", "--save", str(model), "--quiet")
    m = descent.Model.load(model)
    assert m.target == "t" and m.input_names == ["p", "q"]
    header, out = parse_predictions(run_cli(cli, "predict", "--model", str(model), "--data", str(data)).stdout)
    assert header == "t"
    assert np.array_equal(np.array([np.float32(r[0]) for r in out]), m.predict(x).ravel())
    info = run_cli(cli, "info", "--model", str(model)).stdout
    assert "5:softplus" in info


def test_explain_writes_what_the_tool_writes(cli):
    m = descent.Model("1 -> 2:softplus -> 1:identity", weight_init=None)
    for k, v in zip(["w1", "b1", "w2", "b2", "w3", "w4", "b3"], [3.34, -1.43, -3.53, 0.57, -1.22, -2.30, 0.0]):
        m[k] = v
    text = m.explain(descent.Dataset([0.0, 0.5, 1.0], [0.0, 1.0, 0.0]), "b3", loss="ssr")
    assert text == run_cli(cli, "explain", "--demo", "softplus-b3").stdout


def test_a_python_trained_model_shows_its_summary_in_the_tool(cli, tmp_path, blobs):
    x, y = blobs
    r = descent.train(descent.Dataset(x, labels=y), layers="4:relu", optimizer="adam", epochs=3, batch=50)
    path = tmp_path / "p.model"
    r.model.save(path)
    info = json.loads(run_cli(cli, "info", "--model", str(path), "--json").stdout)
    text = json.dumps(info)
    assert "adam" in text and "ce" in text


def test_an_estimator_around_a_model_the_tool_trained(cli, tmp_path, blobs):
    x, y = blobs
    x = x.astype(np.float32)
    names = np.array(["a b", "c,d", "e"])[y]  # labels a CSV must quote
    data = tmp_path / "b.csv"
    write_csv(data, ["p", "q", "r", "s", "label"], [list(r) + [f'"{k}"'] for r, k in zip(x, names)])
    model = tmp_path / "b.model"
    run_cli(cli, "train", "--data", str(data), "--target", "label", "--layers", "6:relu", "--optimizer", "adam",
            "--lr", "0.01", "--epochs", "30", "--batch", "16", "--standardize", "--save", str(model), "--quiet")
    clf = descent.DescentClassifier.from_model(descent.Model.load(model))
    assert list(clf.classes_) == ["a b", "c,d", "e"]
    assert list(clf.feature_names_in_) == ["p", "q", "r", "s"]
    header, out = parse_predictions(run_cli(cli, "predict", "--model", str(model), "--data", str(data)).stdout)
    import csv, io
    cli_labels = [row[0] for row in csv.reader(io.StringIO("\n".join(",".join(r) for r in out)))]
    assert list(clf.predict(x)) == cli_labels
    assert clf.score(x, names) > 0.9
    with pytest.raises(descent.InvalidArgumentError, match="is a classifier"):
        descent.DescentRegressor.from_model(clf.model_)


def test_numeric_labels_as_classes_like_the_tool(cli, tmp_path, blobs):
    x, y = blobs
    path = tmp_path / "num.csv"
    write_csv(path, ["a", "b", "c", "d", "k"], [list(map(np.float32, r)) + [int(k)] for r, k in zip(x, y)])
    saved = tmp_path / "num.model"
    run_cli(cli, "train", "--data", str(path), "--classes", "--layers", "5:relu", "--optimizer", "adam",
            "--epochs", "4", "--batch", "30", "--save", str(saved), "--quiet")
    r = descent.train(path, classes=True, layers="5:relu", optimizer="adam", epochs=4, batch=30)
    theirs = descent.Model.load(saved)
    assert r.model.classes == theirs.classes == ["0", "1", "2"]
    assert np.array_equal(r.model.params, theirs.params)
    # The same numbers as an array: classes=True takes y as labels.
    arr = descent.train(x.astype(np.float32), y, classes=True, layers="5:relu", optimizer="adam", epochs=4, batch=30)
    assert arr.model.classes == ["0", "1", "2"]
    # Without it, numbers are values to fit, and a softmax is refused as the tool refuses it.
    with pytest.raises(descent.InvalidArgumentError, match="say so with classes=True"):
        descent.train(path, output="softmax")
    err = run_cli(cli, "train", "--data", str(path), "--output", "softmax", check=False)
    assert err.returncode != 0 and "--classes" in err.stderr


def test_fine_tuning_reads_the_file_the_models_way(tmp_path, blobs):
    x, y = blobs
    names = np.array(["red", "green", "blue"])[y]
    first = tmp_path / "all.csv"
    write_csv(first, ["a", "b", "c", "d", "colour"], [list(map(np.float32, r)) + [k] for r, k in zip(x, names)])
    m = descent.train(first, layers="5:relu", optimizer="adam", epochs=5, batch=30).model
    assert m.classes == ["red", "green", "blue"]  # the file's order of first appearance
    # A later file: columns in another order, only two of the classes.
    keep = names != "red"
    later = tmp_path / "later.csv"
    write_csv(later, ["colour", "d", "c", "b", "a"],
              [[k] + list(map(np.float32, r[::-1])) for r, k in zip(x[keep], names[keep])])
    before = m.evaluate(descent.Dataset.for_model(m, later))["accuracy"]
    r = descent.train(later, model=m, optimizer="adam", epochs=5, batch=30)
    assert r.model is m and m.classes == ["red", "green", "blue"]
    assert m.evaluate(descent.Dataset.for_model(m, later))["accuracy"] >= before - 0.05
    # Labels as arrays are encoded over the model's classes.
    descent.train(x[keep], names[keep], classes=True, model=m, optimizer="adam", epochs=1, batch=30)
    bad = tmp_path / "bad.csv"
    write_csv(bad, ["a", "b", "c", "d", "colour"], [list(map(np.float32, x[0])) + ["purple"]])
    with pytest.raises(descent.FormatError, match="purple"):
        descent.Dataset.for_model(m, bad)


def test_a_convolutional_network_trains_as_the_tools(cli, tmp_path):
    rng = np.random.RandomState(2)
    n = 60
    img = rng.uniform(size=(n, 16)).astype(np.float32)
    label = np.where(img[:, :8].sum(axis=1) > img[:, 8:].sum(axis=1), "top", "bottom")
    path = tmp_path / "img.csv"
    write_csv(path, [f"p{i}" for i in range(16)] + ["where"], [list(r) + [k] for r, k in zip(img, label)])
    saved = tmp_path / "conv.model"
    run_cli(cli, "train", "--data", str(path), "--input-shape", "1x4x4", "--layers", "conv3@2x2:relu,maxpool2",
            "--optimizer", "adam", "--epochs", "3", "--batch", "10", "--save", str(saved), "--quiet")
    r = descent.train(path, input_shape="1x4x4", layers="conv3@2x2:relu,maxpool2", optimizer="adam",
                      epochs=3, batch=10)
    theirs = descent.Model.load(saved)
    assert r.model.spec == theirs.spec and "conv3" in r.model.spec
    assert np.array_equal(r.model.params, theirs.params)
    with pytest.raises(descent.InvalidArgumentError, match="holds 12 values, but the data has 16"):
        descent.train(path, input_shape="1x3x4", layers="conv3@2x2:relu")
