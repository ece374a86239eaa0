"""train(): the command line's `descent train`, as a function.

The keyword arguments are the command line's options with ``-`` written
``_`` (``--max-iter`` is ``max_iter``), with the same defaults: without
``epochs`` it is the seed's full-batch gradient descent (learning rate 0.01,
stop when every step is below 0.001 or after 1000 updates). The test suite
compares these names and defaults with ``descent train --help``.
"""

from __future__ import annotations

import ctypes
import json as _json
import math
import os
import threading
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Mapping, Optional, Union

import numpy as np

from . import _capi
from .data import ArrayLike, Dataset, PathLike, make_limits
from .errors import (
    DivergedError,
    Error,
    InvalidArgumentError,
    TrainingInterrupted,
    check,
    error_for,
)
from .model import RELU_RULES, Model, _enum

#: Options of ``descent train`` that write files or terminal output only the
#: command line has; train() returns the figures instead.
CLI_ONLY_OPTIONS = ("json", "quiet", "trace", "plot_dir", "sweep_param", "test")


@dataclass
class Progress:
    """What a progress callback sees.

    In a minibatch run (``epochs`` > 0) the callback is called at the end of
    every epoch; in a full-batch run after every update.
    """

    epoch: int  #: epochs completed (0 in full-batch runs)
    epochs: int  #: epochs asked for (0 in full-batch runs)
    iteration: int  #: parameter updates made so far
    loss: float  #: training loss (the epoch's mean, or this update's)
    val_loss: float  #: validation loss, NaN without validation data
    seconds: float  #: since training started


@dataclass
class TrainResult:
    """The outcome of :func:`train`."""

    model: Model  #: the trained model
    status: str  #: "ok", or "cancelled" when the callback stopped the run
    stop: str  #: the rule that stopped it: step_size, max_iter, epochs, callback, ...
    iterations: int  #: parameter updates made
    epochs: int  #: epochs completed
    loss: float  #: final training loss
    val_loss: float  #: validation loss (NaN without validation)
    accuracy: float  #: validation accuracy of a classifier (NaN otherwise)
    grad_norm: float  #: gradient norm at the last update
    max_step: float  #: largest |step| of the last update
    seconds: float  #: optimisation time
    loss_name: str  #: the loss trained on
    converged: Optional[bool] = None  #: L-BFGS line-search stops: at rounding level?
    history: List[Dict[str, float]] = field(default_factory=list)
    """One entry per epoch: ``loss``, ``val_loss``, ``seconds``."""
    loss_curve: List[float] = field(default_factory=list)
    """The training loss of each epoch (minibatch runs)."""


@dataclass
class OptimizerState:
    """Where a minibatch run's optimizer stands after its last epoch, kept
    by the estimators so that partial_fit goes on where fit stopped."""

    optimizer: str
    iterations: int
    optimizer_t: int
    state: Any  # float32 ndarray, the optimizer's flat state


def _load_init(model: Model, init: Union[PathLike, Mapping[str, float]]) -> None:
    """--init: parameter values from a mapping, or from a file of
    ``name value`` lines (``#`` comments), as the command line reads it."""
    if isinstance(init, Mapping):
        for k, v in init.items():
            model[k] = v
        return
    path = os.fspath(init)
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            s = line.split("#", 1)[0].replace("=", " ").split()
            if not s:
                continue
            if len(s) != 2:
                raise InvalidArgumentError(f"{path}:{lineno}: expected `name value`, e.g. `w1 2.74`")
            try:
                v = float(s[1])
            except ValueError:
                raise InvalidArgumentError(
                    f"{path}:{lineno}: expected `name value`, e.g. `w1 2.74`"
                ) from None
            try:
                model[s[0]] = v
            except Error as e:
                raise type(e)(f"{path}:{lineno}: {e}") from None


def _data_of(
    data: Union[Dataset, PathLike, ArrayLike, None],
    y: Optional[ArrayLike],
    target: Optional[str],
    ignore: Optional[str],
    features: Optional[str],
    idx_images: Optional[PathLike],
    idx_labels: Optional[PathLike],
    classes: bool,
    reader: Optional[Model],
    limits: Mapping[str, Union[int, str]],
) -> Dataset:
    if idx_images is not None or idx_labels is not None:
        if idx_images is None or idx_labels is None:
            raise InvalidArgumentError("idx_images and idx_labels go together")
        if data is not None:
            raise InvalidArgumentError("data or idx_images, not both")
        return Dataset.from_idx(idx_images, idx_labels, limits)
    if data is None:
        raise InvalidArgumentError("data (a Dataset, a CSV file or an array) is required")
    if isinstance(data, Dataset):
        return data
    kind = "classes" if classes else "auto"
    if isinstance(data, (str, os.PathLike)):
        if reader is not None:
            # Data for a saved model is read the way that model reads it.
            return Dataset.for_model(
                reader, data, target=target, ignore=ignore, target_kind=kind, limits=limits
            )
        return Dataset.from_csv(
            data, target=target, ignore=ignore, features=features, target_kind=kind, limits=limits
        )
    if classes:
        # Fine-tuning a classifier: its outputs are its classes, in its order.
        return Dataset(data, labels=y, classes=reader.classes if reader is not None else None)
    return Dataset(data, y)


def _check_loss(d: Dataset, output: str, loss: str) -> None:
    """A softmax output or the ce loss on one numeric target column is a
    mistake the command line catches too: numbers are values to fit."""
    if d.classes is not None or (output != "softmax" and loss != "ce"):
        return
    if d.outputs == 1:
        what = "a softmax output" if output == "softmax" else "the ce loss"
        raise InvalidArgumentError(
            f"{what} needs class labels, and the target '{d.target or '?'}' holds numbers, so "
            "it is a value to fit; if its numbers are class labels (0, 1, 2, ...), say so "
            "with classes=True"
        )


def _describe(model: Model, d: Dataset) -> None:
    """The data's column names, target and classes into the model."""
    if d.names is not None:
        model.input_names = d.names
    if d.target:
        model.target = d.target
    if d.classes is not None:
        model.classes = [str(c) for c in d.classes]


def train(
    data: Union[Dataset, PathLike, ArrayLike, None] = None,
    y: Optional[ArrayLike] = None,
    *,
    target: Optional[str] = None,
    ignore: Optional[str] = None,
    features: Optional[str] = None,
    classes: bool = False,
    layers: Optional[str] = None,
    output: Optional[str] = None,
    input_shape: Optional[str] = None,
    idx_images: Optional[PathLike] = None,
    idx_labels: Optional[PathLike] = None,
    weight_init: Optional[str] = None,
    loss: Optional[str] = None,
    optimizer: str = "gd",
    lr: float = 0.01,
    tol: Optional[float] = None,
    max_iter: Optional[int] = None,
    grad_tol: float = 0.0,
    loss_tol: float = 0.0,
    batch: Optional[int] = None,
    epochs: int = 0,
    seed: int = 42,
    init: Union[PathLike, Mapping[str, float], None] = None,
    only: Optional[str] = None,
    schedule: str = "constant",
    lr_gamma: Optional[float] = None,
    lr_step: Optional[int] = None,
    lr_min: float = 0.0,
    momentum: float = 0.9,
    beta1: float = 0.9,
    beta2: float = 0.999,
    eps: float = 1e-8,
    rms_alpha: float = 0.99,
    lbfgs_style: str = "descent",
    lbfgs_history: Optional[int] = None,
    weight_decay: float = 0.0,
    l2: float = 0.0,
    relu_grad_at_zero: str = "0",
    threads: int = 0,
    gemm: Optional[str] = None,
    max_bytes: Union[int, str] = 1 << 30,
    max_line_bytes: Union[int, str] = 1 << 20,
    max_rows: Union[int, str] = 10_000_000,
    val: Union[float, Dataset, None] = None,
    patience: int = 0,
    standardize: bool = False,
    dropout: float = 0.0,
    save: Optional[PathLike] = None,
    model: Union[Model, PathLike, None] = None,
    log: Optional[PathLike] = None,
    checkpoint_every: int = 0,
    resume: Optional[PathLike] = None,
    callback: Optional[Callable[[Progress], Optional[bool]]] = None,
) -> TrainResult:
    """Trains a network by gradient descent and backpropagation.

    The options are ``descent train``'s, with the same names (``-`` as
    ``_``) and defaults. Without ``epochs`` it is full-batch gradient descent
    with the seed's stopping rules: every step size |lr x derivative| below
    ``tol`` (0.001), or ``max_iter`` (1000) updates. With ``epochs=N`` it
    makes N passes in minibatches of ``batch`` rows, reshuffled every epoch.

    Parameters
    ----------
    data : Dataset, str, path or array-like
        The data: a :class:`Dataset`, a CSV file (read with ``target``,
        ``ignore``, ``features``), or an input array with targets ``y``.
        Or give ``idx_images`` and ``idx_labels``.
    y : array-like, optional
        Numeric targets when ``data`` is an array (for class labels build a
        ``Dataset(x, labels=...)``).
    target, ignore, features : str, optional
        Columns of a CSV file, by name or 1-based index.
    classes : bool, default False
        The target holds class labels even if they are numbers (0, 1, 2):
        a CSV target read as labels, or ``y`` taken as labels.
    layers : str, optional
        Hidden layers ``UNITS:ACT,...``, e.g. ``"16:relu"`` ("" or None: none).
    output : str, optional
        Output activation: softmax for class labels, identity otherwise.
    input_shape : str, optional
        The shape of one row's inputs, ``"CxHxW"`` (an image) or ``"CxL"``
        (a signal), for convolution and pooling layers; the columns are read
        in that order (IDX images are 1xHxW by themselves).
    idx_images, idx_labels : path, optional
        IDX files (MNIST, Fashion-MNIST; .gz too) instead of ``data``.
    weight_init : str, optional
        default (He-uniform before ReLU, else Xavier-uniform), normal,
        xavier_uniform, xavier_normal, he_uniform, he_normal.
    loss : str, optional
        ssr, mse, mae, huber, bce, ce; default ce for class labels, else mse.
    optimizer : str, default "gd"
        gd, sgd, momentum, nesterov, rmsprop, adam, adamw, rprop, lbfgs.
    lr : float, default 0.01
        Learning rate.
    tol : float, optional
        Stop when every |lr x derivative| < tol (0.001 without epochs, off
        with them; 0: off).
    max_iter : int, optional
        Stop after this many updates (1000 without epochs; 0: none, only
        evaluate).
    grad_tol, loss_tol : float, default 0 (off)
        Stop when the gradient norm, or the loss, falls below this.
    batch : int, optional
        Rows per update (all rows: full batch).
    epochs : int, default 0
        Passes over the data in minibatches.
    seed : int, default 42
        Random seed for initialisation and shuffles.
    init : path or mapping, optional
        Initial parameter values: a file of ``name value`` lines, or a dict.
    only : str, optional
        Train only these parameters, e.g. ``"b3"``.
    schedule : str, default "constant"
        constant, step, exp, cosine.
    lr_gamma : float, optional
        step/exp decay factor (0.1 / 0.99).
    lr_step : int, optional
        Step schedule period in updates.
    lr_min : float, default 0
        Cosine schedule floor.
    momentum : float, default 0.9
    beta1, beta2, eps : float, default 0.9, 0.999, 1e-8
        Adam's coefficients (eps also rmsprop's).
    rms_alpha : float, default 0.99
        rmsprop's smoothing of g^2.
    lbfgs_style : str, default "descent"
        "descent", or "torch": PyTorch's LBFGS with strong_wolfe, step for step.
    lbfgs_history : int, optional
        L-BFGS pairs kept (8; torch style 100).
    weight_decay : float, default 0
        L2 (adamw: decoupled).
    l2 : float, default 0
        L2 on the weights (not the biases) as scikit-learn's MLP applies its
        ``alpha``: each batch's loss gains l2 / 2 * ||W||^2 / rows, so the
        weights' gradient l2 * W / rows; the losses reported while training
        include it.
    relu_grad_at_zero : str, default "0"
        ReLU's derivative at 0: "0", "1" or "random".
    threads : int, default 0
        Threads (0: all cores).
    gemm : str, optional
        Matrix multiply for the whole process: "builtin" (the default) or
        "cblas".
    max_bytes, max_line_bytes, max_rows : int or str, default 1G, 1M, 10000000
        Size limits on the files read (data, models, checkpoints): bytes of
        a file, of a CSV record, rows; ``"64M"`` style strings too, 0 for no
        limit. Beyond one: LimitError naming the file and the limit.
    val : float or Dataset, optional
        Hold out this fraction for validation (seeded), or validate on a
        Dataset.
    patience : int, default 0
        Early stopping: epochs without a better validation loss (keeps the
        best parameters); needs ``val``.
    standardize : bool, default False
        Standardise inputs (and regression targets) on the training split.
    dropout : float, default 0
        Dropout rate after hidden layers while training.
    save : path, optional
        Save the trained model (atomically); also after Ctrl-C.
    model : Model or path, optional
        Start from this model (fine-tuning); a Model is trained in place.
    log : path, optional
        One JSON line of metrics per epoch.
    checkpoint_every : int, default 0
        Write a checkpoint (the ``save`` file + ``.ckpt``) every N epochs.
    resume : path, optional
        Go on from a checkpoint (same data and options).
    callback : callable, optional
        ``callback(progress)`` with a :class:`Progress`, at the end of every
        epoch (minibatch runs) or after every update (full batch); returning
        True stops the run (status "cancelled").

    Returns
    -------
    TrainResult

    Raises
    ------
    InvalidArgumentError, ShapeError, NotFoundError, FormatError, FileError
        Bad options or data, with descent's message.
    DivergedError
        The loss became NaN or infinite; ``.result`` holds the run, whose
        model keeps the parameters of the last finite step.
    TrainingInterrupted
        Ctrl-C (a KeyboardInterrupt); ``.result`` holds the run so far.
    """
    # Checks the command line makes before it reads anything.
    if val is not None and not isinstance(val, Dataset) and not (0 < val < 1):
        raise InvalidArgumentError("val must be a fraction between 0 and 1")
    if patience and val is None:
        raise InvalidArgumentError("patience needs val (a validation split)")
    if model is not None and (layers is not None or output is not None):
        raise InvalidArgumentError("model brings its own network: drop layers/output")
    if model is not None and standardize:
        raise InvalidArgumentError("model keeps its own standardisation: drop standardize")
    if resume is not None and model is not None:
        raise InvalidArgumentError("resume brings its own model: drop model")
    if (checkpoint_every or resume is not None) and not epochs:
        raise InvalidArgumentError("checkpoints are for minibatch runs: give epochs")
    if checkpoint_every and save is None:
        raise InvalidArgumentError("checkpoint_every needs save (checkpoints go to FILE.ckpt)")
    if str(relu_grad_at_zero) not in RELU_RULES:
        raise InvalidArgumentError(
            f"relu_grad_at_zero must be 0, 1 or random, not {relu_grad_at_zero!r}"
        )
    if not lr > 0:
        raise InvalidArgumentError(f"lr must be positive, not {lr}")
    if not 0 <= rms_alpha <= 1:
        raise InvalidArgumentError(f"rms_alpha must be in [0, 1], not {rms_alpha}")
    if tol is not None and tol < 0:
        raise InvalidArgumentError("tol must be >= 0 (0 turns the rule off)")
    if grad_tol < 0 or loss_tol < 0 or weight_decay < 0 or l2 < 0:
        raise InvalidArgumentError("grad_tol, loss_tol, weight_decay and l2 must be >= 0")
    if gemm is not None:
        if gemm not in ("builtin", "cblas"):
            raise InvalidArgumentError(f"gemm must be builtin or cblas, not {gemm!r}")
        if not _capi.set_gemm(int(gemm == "cblas")):
            raise InvalidArgumentError("gemm cblas: this build has no CBLAS (see descent --version)")

    limits = {"max_bytes": max_bytes, "max_line_bytes": max_line_bytes, "max_rows": max_rows}
    make_limits(limits)  # bad values fail before any file is read
    reader = None
    if resume is not None or (model is not None and not isinstance(model, Model)):
        reader = Model.load(resume if resume is not None else model, limits)
    elif isinstance(model, Model):
        reader = model
    d = _data_of(data, y, target, ignore, features, idx_images, idx_labels, classes, reader, limits)
    state = _capi.TrainState()
    have_state = False
    try:
        if resume is not None:
            h = ctypes.c_void_p()
            check(_capi.checkpoint_load(os.fsencode(resume), ctypes.byref(h), ctypes.byref(state)))
            have_state = True
            m = Model._from_handle(h.value)
            if layers is not None or output is not None:
                want = _make_model(
                    d, layers, output, None, seed, weight_init_or=None, input_shape=input_shape
                )
                if want.spec != m.spec:
                    raise InvalidArgumentError(
                        f"resume: the checkpoint holds {m.spec}, the options ask for {want.spec}"
                    )
            loss_name = loss or m.default_loss()
        elif model is not None:
            m = model if isinstance(model, Model) else reader
            # Classes read from a file are matched to the model's by name, so
            # the file may hold some of them; labels given as arrays were
            # encoded over the model's classes, or must have them.
            by_name = bool(m.classes) and d.classes is not None and d._from_library
            if d.classes is not None and not d._from_library and m.classes:
                if [str(c) for c in d.classes] != m.classes:
                    raise InvalidArgumentError(
                        f"the data's classes ({', '.join(map(str, d.classes))}) are not the "
                        f"model's ({', '.join(m.classes)}), in its order"
                    )
            if m.inputs != d.inputs or (not by_name and m.outputs != d.outputs):
                raise InvalidArgumentError(
                    f"the model has {m.inputs} inputs and {m.outputs} outputs, the data "
                    f"{d.inputs} and {d.outputs}"
                )
            loss_name = loss or m.default_loss()
        else:
            has_classes = d.classes is not None
            loss_name = loss or ("ce" if has_classes else "mse")
            _check_loss(d, output or ("softmax" if has_classes else "identity"), loss_name)
            m = _make_model(d, layers, output, weight_init, seed, input_shape=input_shape)
        _enum("loss", loss_name)  # an unknown name fails here, before any work
        if init is not None:
            _load_init(m, init)

        tr, va = d, None
        if isinstance(val, Dataset):
            va = val
        elif val is not None:
            tr, va = d.split(val, seed)
        if standardize and resume is None:
            m.fit_standardization(tr, True)
        m.relu_grad_at_zero = relu_grad_at_zero

        opts = dict(
            optimizer=optimizer,
            lr=lr,
            tol=tol,
            max_iter=max_iter,
            grad_tol=grad_tol,
            loss_tol=loss_tol,
            batch=batch,
            epochs=epochs,
            seed=seed,
            only=only,
            schedule=schedule,
            lr_gamma=lr_gamma,
            lr_step=lr_step,
            lr_min=lr_min,
            momentum=momentum,
            beta1=beta1,
            beta2=beta2,
            eps=eps,
            rms_alpha=rms_alpha,
            lbfgs_style=lbfgs_style,
            lbfgs_history=lbfgs_history,
            weight_decay=weight_decay,
            l2=l2,
            threads=threads,
            dropout=dropout,
            patience=patience,
        )
        return fit(
            m,
            tr,
            va,
            loss_name,
            opts,
            callback=callback,
            log=log,
            save=save,
            checkpoint_every=checkpoint_every,
            resume_file_state=state if have_state else None,
        )[0]
    finally:
        if have_state:
            _capi.train_state_free(ctypes.byref(state))


def fit(
    m: Model,
    tr: Dataset,
    va: Optional[Dataset],
    loss_name: str,
    opts: Dict[str, Any],
    *,
    callback: Optional[Callable[[Progress], Optional[bool]]] = None,
    log: Optional[PathLike] = None,
    save: Optional[PathLike] = None,
    checkpoint_every: int = 0,
    resume_file_state: Optional[_capi.TrainState] = None,
    resume: Optional[OptimizerState] = None,
    keep_state: bool = False,
    history: bool = True,
) -> "tuple[TrainResult, Optional[OptimizerState]]":
    """Trains m in place on tr: the part of train() after the model and the
    data are settled. ``opts`` holds train()'s optimisation options by name
    (and ``no_change_tol``/``no_change_epochs``, scikit-learn MLP's stopping
    rule decided in the library). With ``keep_state`` the optimizer's state
    after the last epoch comes back too, and ``resume`` continues from such
    a state for more epochs. ``history=False`` (no callback, log or file
    checkpoints) spares a call into Python per epoch: the result's history
    stays empty, its loss_curve is filled by the library."""
    p = _capi.TrainParams()
    _capi.train_params_init(ctypes.byref(p))
    p.loss = _enum("loss", loss_name)
    p.optimizer = _enum("optimizer", opts["optimizer"])
    p.schedule = _enum("schedule", opts["schedule"])
    p.learning_rate = opts["lr"]
    p.step_tol = -1.0 if opts["tol"] is None else opts["tol"]
    p.max_iter = -1 if opts["max_iter"] is None else int(opts["max_iter"])
    p.grad_tol, p.loss_tol = opts["grad_tol"], opts["loss_tol"]
    p.batch = opts["batch"] or 0
    p.epochs = opts["epochs"]
    p.seed = opts["seed"]
    only = opts["only"]
    p.only = None if only is None else only.encode()
    p.momentum, p.beta1, p.beta2, p.eps = opts["momentum"], opts["beta1"], opts["beta2"], opts["eps"]
    p.weight_decay = opts["weight_decay"]
    p.l2 = opts.get("l2", 0.0)
    p.no_change_tol = opts.get("no_change_tol", 0.0)
    p.no_change_epochs = opts.get("no_change_epochs", 0)
    p.rms_alpha = opts.get("rms_alpha", 0.99)
    p.lbfgs_style = _enum("lbfgs_style", opts.get("lbfgs_style", "descent"))
    p.lbfgs_history = opts.get("lbfgs_history") or 0
    p.lr_gamma = opts["lr_gamma"] or 0.0
    p.lr_step = opts["lr_step"] or 0
    p.lr_min = opts["lr_min"]
    p.threads = opts["threads"]
    p.dropout = opts["dropout"]
    p.patience = opts["patience"]
    p.val = va._h if va is not None else None
    resume_struct = None
    if resume_file_state is not None:
        p.resume = ctypes.pointer(resume_file_state)
    elif resume is not None and resume.optimizer == opts["optimizer"]:
        st = resume.state
        resume_struct = _capi.TrainState()
        resume_struct.epoch = 0
        resume_struct.iterations = resume.iterations
        resume_struct.optimizer_t = resume.optimizer_t
        resume_struct.n_state = st.size
        resume_struct.state = st.ctypes.data_as(ctypes.POINTER(ctypes.c_float))
        resume_struct.best_val = math.inf
        p.resume = ctypes.pointer(resume_struct)
    return _run(
        m, tr, va, p, loss_name, callback, log, save, checkpoint_every, opts["optimizer"], keep_state,
        history,
    )


def _input_spec(d: Dataset, layers: str, input_shape: Optional[str]) -> str:
    """The IN of the spec, as the command line writes it: the data's own
    shape for convolution and pooling layers (or input_shape), else its
    number of columns."""
    if input_shape is None:
        if not any(w in layers for w in ("conv", "pool", "flatten")):
            return str(d.inputs)
        return "x".join(str(v) for v in d.input_shape)
    parts = input_shape.split("x")
    if not (1 <= len(parts) <= 3 and all(p.isdigit() and 0 < int(p) <= 100000000 for p in parts)):
        raise InvalidArgumentError(
            f"input_shape '{input_shape}': expected CxHxW (an image) or CxL (a signal), e.g. 1x28x28"
        )
    if math.prod(int(p) for p in parts) != d.inputs:
        raise InvalidArgumentError(
            f"input_shape {input_shape} holds {math.prod(int(p) for p in parts)} values, but the "
            f"data has {d.inputs} input columns"
        )
    return input_shape


def _make_model(
    d: Dataset,
    layers: Optional[str],
    output: Optional[str],
    weight_init: Optional[str],
    seed: int,
    weight_init_or: Optional[str] = "default",
    input_shape: Optional[str] = None,
) -> Model:
    """`IN -> LAYERS -> OUT:OUTPUT` from the data, as the command line builds it."""
    classes = d.classes is not None
    out_act = output or ("softmax" if classes else "identity")
    _enum("activation", out_act)
    hidden = layers or ""
    spec = f"{_input_spec(d, hidden, input_shape)} -> {hidden}{' -> ' if hidden else ''}{d.outputs}:{out_act}"
    m = Model(spec, weight_init=weight_init or weight_init_or, seed=seed)
    _describe(m, d)
    return m


class _Run:
    """The callbacks of one run, and what they collect."""

    def __init__(self, m: Model, va: Optional[Dataset], callback, log_file, ckpt_path) -> None:
        self.m, self.va, self.callback = m, va, callback
        self.log_file, self.ckpt_path = log_file, ckpt_path
        self.history: List[Dict[str, float]] = []
        self.error: Optional[BaseException] = None
        self.keep_state = False
        self.epochs = 0
        self.optimizer = ""
        self.state: Optional[OptimizerState] = None
        self.pending: Optional[Progress] = None  # the epoch's progress, for on_checkpoint
        self.at_end = False  # on_checkpoint is called once, at the end

    def on_epoch(self, info_p, user) -> int:
        try:
            e = info_p.contents
            self.history.append({"loss": e.loss, "val_loss": e.val_loss, "seconds": e.seconds})
            if self.log_file is not None:
                acc = math.nan
                if self.va is not None and self.m.classes:
                    acc = self.m.evaluate(self.va)["accuracy"]
                rec = {
                    "epoch": int(e.epoch) + 1,
                    "loss": e.loss,
                    "val_loss": None if math.isnan(e.val_loss) else e.val_loss,
                    "accuracy": None if math.isnan(acc) else acc,
                    "seconds": e.seconds,
                }
                self.log_file.write(_json.dumps(rec) + "\n")
                self.log_file.flush()
            if self.callback is not None:
                p = Progress(int(e.epoch) + 1, int(e.epochs), -1, e.loss, e.val_loss, e.seconds)
                if self.keep_state:
                    # Decided in on_checkpoint, which follows in the same
                    # epoch: a stop here would skip it, and the state kept
                    # would be the epoch before's.
                    self.pending = p
                    return 0
                return 1 if self.callback(p) else 0
            return 0
        except BaseException as exc:  # noqa: BLE001 - re-raised after the run
            self.error = exc
            return 1

    def on_step(self, info_p, user) -> int:
        try:
            s = info_p.contents
            p = Progress(0, 0, int(s.iter) + 1, s.loss, math.nan, math.nan)
            return 1 if self.callback(p) else 0
        except BaseException as exc:  # noqa: BLE001
            self.error = exc
            return 1

    def on_checkpoint(self, st_p, user) -> int:
        try:
            stop = False
            if self.pending is not None:
                p, self.pending = self.pending, None
                stop = bool(self.callback(p))
            st = st_p.contents
            # The state is copied only when the run ends here: a copy every
            # epoch was a tenth of an epoch on digits.
            if self.keep_state and (stop or self.at_end or st.epoch >= self.epochs):
                n = int(st.n_state)
                arr = (
                    np.ctypeslib.as_array(st.state, shape=(n,)).copy()
                    if n
                    else np.zeros(0, dtype=np.float32)
                )
                self.state = OptimizerState(
                    self.optimizer, int(st.iterations), int(st.optimizer_t), arr
                )
            if self.ckpt_path is not None and self.file_every and st.epoch % self.file_every == 0:
                check(_capi.checkpoint_save(self.m._h, st_p, os.fsencode(self.ckpt_path)))
            return 1 if stop else 0
        except BaseException as exc:  # noqa: BLE001
            self.error = exc
            return 1


def _call_interruptibly(fn: Callable[[], Any], stop: ctypes.c_int) -> bool:
    """Runs fn (a library call that reads the stop flag) so that Ctrl-C can
    stop it: in a worker thread while the main thread waits, since Python
    only sees a signal when the main thread runs Python code. Returns True
    when Ctrl-C raised the flag."""
    if threading.current_thread() is not threading.main_thread():
        fn()
        return False
    done = threading.Event()

    def work() -> None:
        try:
            fn()
        finally:
            done.set()

    # An Event, not Thread.join: in Python 3.11 a join interrupted by Ctrl-C
    # can mark a running thread as finished (bpo-45274's fix).
    threading.Thread(target=work, name="descent-train", daemon=True).start()
    interrupted = False
    while True:
        try:
            done.wait()
            return interrupted
        except KeyboardInterrupt:
            stop.value = 1
            interrupted = True


def _run(
    m, tr, va, p, loss_name, callback, log, save, checkpoint_every, optimizer, keep_state, history=True
):
    log_tmp = None
    log_file = None
    if log is not None:
        log_tmp = os.fspath(log) + ".tmp"
        log_file = open(log_tmp, "w", encoding="utf-8")
    ckpt = os.fspath(save) + ".ckpt" if save is not None else None
    run = _Run(m, va, callback, log_file, ckpt)
    run.keep_state, run.optimizer = keep_state and p.epochs > 0, optimizer
    run.epochs = p.epochs
    run.file_every = checkpoint_every if ckpt is not None else 0
    keep = []  # the C callbacks live until the run ends
    epochs = p.epochs
    # Without a callback, a log or file checkpoints, the library calls
    # Python at most once, at the end (each call per epoch was a few percent
    # of a small data set's fit).
    lean = not history and callback is None and log_file is None and not run.file_every
    curve = np.zeros(epochs if lean else 0, dtype=np.float64)
    if lean:
        p.loss_curve = curve.ctypes.data_as(ctypes.POINTER(ctypes.c_double))
    if (epochs or log_file is not None) and not lean:
        keep.append(_capi.ON_EPOCH(run.on_epoch))
        p.on_epoch = keep[-1]
    if callback is not None and not epochs:
        keep.append(_capi.ON_STEP(run.on_step))
        p.on_step = keep[-1]
        p.on_step_light = 1
    if run.file_every or run.keep_state:
        keep.append(_capi.ON_CHECKPOINT(run.on_checkpoint))
        p.on_checkpoint = keep[-1]
        if lean:
            run.at_end = True
            p.checkpoint_at_end = 1
        else:
            p.checkpoint_every = 1 if run.keep_state else checkpoint_every
    stop = ctypes.c_int(0)
    p.stop = ctypes.pointer(stop)
    r = _capi.TrainResult()
    outcome: Dict[str, Any] = {}

    def call() -> None:
        # The message is the calling thread's: read it in the same thread.
        st = _capi.train(m._h, tr._h, ctypes.byref(p), ctypes.byref(r))
        outcome["status"] = st
        outcome["message"] = _capi.text(_capi.last_error()) if st else None

    try:
        interrupted = _call_interruptibly(call, stop)
    except BaseException:
        if log_file is not None:
            log_file.close()
            os.remove(log_tmp)
        raise
    if log_file is not None:
        log_file.close()
        if run.error is None and outcome["status"] in (0, 7, 8):
            os.replace(log_tmp, os.fspath(log))
        else:
            os.remove(log_tmp)
    status = outcome["status"]
    if run.error is not None:
        raise run.error
    accuracy = math.nan
    if va is not None and m.classes and status in (0, 8):
        accuracy = m.evaluate(va, loss_name)["accuracy"]
    stop_name = _capi.text(_capi.stop_name(r.stop)) or ""
    res = TrainResult(
        model=m,
        status="cancelled" if status == 8 else "ok",
        stop=stop_name,
        iterations=int(r.iterations),
        epochs=int(r.epochs),
        loss=r.loss,
        val_loss=r.val_loss,
        accuracy=accuracy,
        grad_norm=r.grad_norm,
        max_step=r.max_step,
        seconds=r.seconds,
        loss_name=loss_name,
        converged=bool(r.at_rounding_level) if stop_name == "line_search_failed" else None,
        history=run.history,
        loss_curve=(
            [float(v) for v in curve[: max(0, int(r.epochs) - int(p.resume.contents.epoch if p.resume else 0))]]
            if lean
            else [h["loss"] for h in run.history]
        ),
    )
    if status in (0, 7, 8):
        _set_summary(m, res, optimizer, tr.rows)
    if status not in (0, 7, 8):
        raise error_for(status, outcome["message"], res)
    if save is not None and status in (0, 8):
        # Saved even when interrupted: Ctrl-C keeps the model so far.
        m.save(save)
    if interrupted:
        raise TrainingInterrupted(
            f"interrupted after {res.iterations} updates"
            + ("; the model so far is saved" if save is not None else ""),
            res,
        )
    if status == 7:
        raise DivergedError(outcome["message"] or "training diverged", res)
    return res, run.state


def _set_summary(m: Model, r: TrainResult, optimizer: str, rows: int) -> None:
    s = _capi.ModelSummary()
    s.loss = r.loss_name.encode()[:15]
    s.optimizer = optimizer.encode()[:15]
    s.stop = r.stop.encode()[:23]
    s.iterations, s.epochs, s.samples = r.iterations, r.epochs, rows
    s.loss_value, s.val_loss, s.accuracy, s.seconds = r.loss, r.val_loss, r.accuracy, r.seconds
    _capi.model_set_summary(m._h, ctypes.byref(s))
