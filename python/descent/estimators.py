"""scikit-learn estimators over descent: DescentClassifier, DescentRegressor.

They follow scikit-learn's conventions (fit/predict/score, get_params and
set_params, partial_fit, classes_, n_features_in_, feature_names_in_) and
pass ``sklearn.utils.estimator_checks.check_estimator``. A fitted estimator
holds a :class:`descent.Model` in ``model_``; pickling it stores the model
as descent's model-file bytes, so ``model_.save(path)`` and the command line
(``descent predict --model``) read the same model.

The options are descent's (the command line's names), with defaults chosen
for tables rather than the seed's lesson: Adam at learning rate 0.001 in
batches of 200 rows for up to 200 epochs, stopping when the training loss
has not improved by ``tol`` for more than ``n_iter_no_change`` epochs (the
loss of an epoch being the mean over its rows, with the L2 term ``alpha``),
inputs standardised, weights and biases drawn as MLP draws them: the same
recipe and stopping rule as scikit-learn's MLPClassifier and MLPRegressor,
so ``layers="100:relu"`` is their ``hidden_layer_sizes=(100,)``.
"""

from __future__ import annotations

import math
import numbers
import os
import threading
from typing import Any, Dict, List, Optional, Sequence

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_consistent_length, check_is_fitted, column_or_1d

from . import _capi
from .data import Dataset, encode_labels, one_hot
from .errors import InvalidArgumentError
from .model import Model
from .training import OptimizerState, Progress, fit as _fit

__all__ = ["DescentClassifier", "DescentRegressor"]


class _EarlyStop:
    """MLPClassifier's rule on the training loss: stop once it has not
    improved by tol for more than n_iter_no_change epochs in a row."""

    def __init__(self, tol: Optional[float], n_iter_no_change: int, verbose: bool) -> None:
        self.tol, self.n, self.verbose = tol, n_iter_no_change, verbose
        self.best = math.inf
        self.count = 0
        self.curve: List[float] = []

    def __call__(self, p: Progress) -> bool:
        self.curve.append(p.loss)
        if self.verbose:
            extra = "" if math.isnan(p.val_loss) else f", validation loss = {p.val_loss:.8f}"
            print(f"Epoch {p.epoch}, loss = {p.loss:.8f}{extra}")
        if self.tol is None or self.tol <= 0:
            return False
        self.count = self.count + 1 if p.loss > self.best - self.tol else 0
        self.best = min(self.best, p.loss)
        return self.count > self.n


_local = threading.local()


def _random_state(seed: Any) -> np.random.RandomState:
    """``check_random_state(seed)``, except that for an int this thread's one
    RandomState is re-seeded and returned: the same draws as a new
    ``RandomState(seed)``, whose construction (entropy from the OS and a
    SeedSequence, then the legacy seeding) cost a tenth of a whole iris fit.
    Use it at once: the next call re-seeds it."""
    if isinstance(seed, numbers.Integral) and not isinstance(seed, bool):
        rs = getattr(_local, "rs", None)
        if rs is None:
            rs = _local.rs = np.random.RandomState()
        rs.seed(seed)
        return rs
    return check_random_state(seed)


def _init_like_mlp(m: Model, rs: np.random.RandomState) -> bool:
    """scikit-learn's MLP initialisation (``_init_coef``): weights AND biases
    uniform in +-sqrt(6 / (fan_in + fan_out)), or +-sqrt(2 / ...) when the
    hidden layers are all sigmoid (MLP's 'logistic'), drawn layer by layer,
    weights first, from ``rs``. With the same int random_state as an
    MLPClassifier, the network starts from the very same numbers (sklearn
    keeps a weight matrix as inputs x outputs, descent as outputs x inputs).
    Returns False, drawing nothing, for a model with convolution or pooling
    (the caller then uses the library's draw)."""
    layers = m.layers
    units = [m.inputs] + [u for u, _ in layers]
    if sum(a * b + b for a, b in zip(units, units[1:])) != _capi.model_param_count(m._h):
        return False
    hidden = [act for _, act in layers[:-1]]
    factor = 2.0 if hidden and all(act == "sigmoid" for act in hidden) else 6.0
    parts = []
    for fan_in, fan_out in zip(units, units[1:]):
        bound = math.sqrt(factor / (fan_in + fan_out))
        coef = rs.uniform(-bound, bound, (fan_in, fan_out))
        parts += [coef.T.ravel(), rs.uniform(-bound, bound, fan_out)]
    m.params = np.concatenate(parts)
    return True


#: Below this many multiply-adds in a training step's largest product the
#: estimators train on one thread when ``threads=0``: the library gives a
#: product a second thread only from about 1.6 M (AVX2) or 6.3 M (AVX-512)
#: multiply-adds, so below both a second thread only gets pieces of the
#: element-wise operations, and handing those over cost more than it saved
#: (digits, batches of 200: 67.6 against 75.0 ms of CPU, wall 85 against
#: 92 ms at best, interleaved at load 15; on a quiet machine the waiting
#: helper's spin cost iris 12.8 ms of CPU for 6.7 ms of wall time).
SMALL_STEP = 1_600_000


def _threads_for(threads: int, m: Model, batch_rows: int) -> int:
    """``threads``, or 1 for a default (0) on a network whose largest
    product per step is below SMALL_STEP (DSC_NUM_THREADS still rules when
    set: the user asked for it)."""
    if threads or os.environ.get("DSC_NUM_THREADS"):
        return threads
    units = [m.inputs] + [u for u, _ in m.layers]
    if sum(a * b + b for a, b in zip(units, units[1:])) != _capi.model_param_count(m._h):
        return threads  # convolutions: the library's own plan
    widest = max(a * b for a, b in zip(units, units[1:]))
    return 1 if batch_rows * widest < SMALL_STEP else threads


class _DescentEstimator(BaseEstimator):
    """What the classifier and the regressor share."""

    _output = "identity"
    _loss = "mse"

    def __init__(
        self,
        layers: str = "100:relu",
        *,
        optimizer: str = "adam",
        lr: float = 0.001,
        epochs: int = 200,
        batch: int = 200,
        tol: Optional[float] = 1e-4,
        n_iter_no_change: int = 10,
        weight_decay: float = 0.0,
        alpha: float = 1e-4,
        dropout: float = 0.0,
        standardize: bool = True,
        val: Optional[float] = None,
        patience: int = 0,
        schedule: str = "constant",
        lr_min: float = 0.0,
        momentum: float = 0.9,
        beta1: float = 0.9,
        beta2: float = 0.999,
        eps: float = 1e-8,
        weight_init: str = "sklearn",
        loss: Optional[str] = None,
        threads: int = 0,
        random_state: Any = None,
        warm_start: bool = False,
        verbose: bool = False,
    ) -> None:
        self.layers = layers
        self.optimizer = optimizer
        self.lr = lr
        self.epochs = epochs
        self.batch = batch
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.weight_decay = weight_decay
        self.alpha = alpha
        self.dropout = dropout
        self.standardize = standardize
        self.val = val
        self.patience = patience
        self.schedule = schedule
        self.lr_min = lr_min
        self.momentum = momentum
        self.beta1 = beta1
        self.beta2 = beta2
        self.eps = eps
        self.weight_init = weight_init
        self.loss = loss
        self.threads = threads
        self.random_state = random_state
        self.warm_start = warm_start
        self.verbose = verbose

    # --- input ---------------------------------------------------------------

    def _inputs(self, X: Any, reset: bool) -> np.ndarray:
        """X checked by scikit-learn's rules (shape, feature count and names,
        no sparse or complex data) and converted once to C-ordered float32;
        a float32 C-ordered array passes through uncopied. NaN and infinity
        are left to descent, whose message names the row and column."""
        return self._validate_data(
            X,
            reset=reset,
            dtype=np.float32,
            order="C",
            force_all_finite=False,
            accept_sparse=False,
        )

    def _targets(self, y: Any, n: int) -> np.ndarray:
        raise NotImplementedError

    # --- training ------------------------------------------------------------

    def _new_model(self, n_in: int, n_out: int, seed: int) -> Model:
        if not isinstance(self.layers, str):
            raise InvalidArgumentError(
                f"layers is a spec string such as '100:relu' or '64:relu,32:tanh', "
                f"not {self.layers!r}"
            )
        hidden = self.layers.strip()
        spec = f"{n_in} -> {hidden}{' -> ' if hidden else ''}{n_out}:{self._output}"
        mlp_init = self.weight_init == "sklearn"
        # MLP's draw replaces the library's, which is skipped (but kept for
        # the networks MLP's rule does not cover).
        m = Model(spec, weight_init=None if mlp_init else self.weight_init, seed=seed)
        if mlp_init and not _init_like_mlp(m, _random_state(self.random_state)):
            m.init("xavier_uniform", seed)
        names = getattr(self, "feature_names_in_", None)
        if names is not None:
            m.input_names = [str(c) for c in names]
        return m

    def _train(self, X: np.ndarray, Y: np.ndarray, epochs: int, first: bool, seed: int) -> None:
        if not (float(self.alpha) >= 0 and math.isfinite(float(self.alpha))):
            raise InvalidArgumentError(
                f"alpha (the L2 penalty) must be a finite number >= 0, not {self.alpha!r}"
            )
        data = Dataset(X, Y)
        m: Model = self.model_
        if first and self.standardize:
            m.fit_standardization(data, targets_too=True)
        va = None
        tr = data
        if self.val is not None:
            tr, va = data.split(self.val, seed)
        # The stopping rule is decided in the library (no call into Python
        # per epoch) unless verbose asks for a line per epoch.
        stopper = _EarlyStop(self.tol, self.n_iter_no_change, self.verbose) if self.verbose else None
        rule = self.tol is not None and self.tol > 0 and stopper is None
        if int(self.n_iter_no_change) < 0:
            raise InvalidArgumentError(
                f"n_iter_no_change must be 0 or more, not {self.n_iter_no_change!r}"
            )
        opts: Dict[str, Any] = dict(
            optimizer=self.optimizer,
            lr=self.lr,
            tol=None,
            max_iter=None,
            grad_tol=0.0,
            loss_tol=0.0,
            batch=min(self.batch, tr.rows) if self.batch else 0,
            epochs=epochs,
            seed=seed,
            only=None,
            schedule=self.schedule,
            lr_gamma=None,
            lr_step=None,
            lr_min=self.lr_min,
            momentum=self.momentum,
            beta1=self.beta1,
            beta2=self.beta2,
            eps=self.eps,
            weight_decay=self.weight_decay,
            l2=float(self.alpha),
            no_change_tol=float(self.tol) if rule else 0.0,
            no_change_epochs=int(self.n_iter_no_change) if rule else 0,
            threads=_threads_for(self.threads, m, min(self.batch, tr.rows) if self.batch else tr.rows),
            dropout=self.dropout,
            patience=self.patience,
        )
        resume = None if first else getattr(self, "_optimizer_state", None)
        r, state = _fit(
            m,
            tr,
            va,
            self.loss or self._loss,
            opts,
            callback=stopper,
            resume=resume,
            keep_state=True,
            history=False,
        )
        self._optimizer_state: Optional[OptimizerState] = state
        self.n_iter_ = (0 if first else getattr(self, "n_iter_", 0)) + r.epochs
        self.loss_curve_ = ([] if first else list(getattr(self, "loss_curve_", []))) + (
            stopper.curve if stopper is not None else r.loss_curve
        )
        self.loss_ = r.loss
        self.t_ = (0 if first else getattr(self, "t_", 0)) + r.iterations * opts["batch"]
        self.train_result_ = r

    def _seed(self) -> int:
        return int(_random_state(self.random_state).randint(np.iinfo(np.int32).max))

    # --- the rest ------------------------------------------------------------

    def _raw(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "model_")
        return self.model_.predict(self._inputs(X, reset=False))

    def _more_tags(self) -> Dict[str, Any]:
        return {"non_deterministic": False, "requires_y": True}


class DescentClassifier(ClassifierMixin, _DescentEstimator):
    """A neural network classifier trained by descent.

    Parameters
    ----------
    layers : str, default "100:relu"
        Hidden layers, ``UNITS:ACT,...`` as the command line's ``--layers``
        (activations: relu, leaky_relu, softplus, sigmoid, tanh, identity);
        ``""`` for none (multinomial logistic regression). The output layer
        is a softmax over the classes, trained with cross-entropy.
    optimizer : str, default "adam"
        gd, sgd, momentum, nesterov, rmsprop, adam, adamw.
    lr : float, default 0.001
        Learning rate.
    epochs : int, default 200
        Most passes over the data (MLPClassifier's ``max_iter``).
    batch : int, default 200
        Rows per update (fewer when the data has fewer); 0: full batch.
    tol : float or None, default 1e-4
        Stop when the training loss has not improved by ``tol`` for more
        than ``n_iter_no_change`` epochs; None or 0: run every epoch.
    n_iter_no_change : int, default 10
    weight_decay : float, default 0
        L2 penalty added to the gradient of every parameter (adamw:
        decoupled), as PyTorch's optimizers apply it.
    alpha : float, default 1e-4
        MLPClassifier's L2 penalty, applied as it does: on the weights only,
        each batch's loss gaining alpha / 2 * ||W||^2 / rows (so the loss
        the ``tol`` rule watches includes it, as MLP's ``loss_curve_``).
    dropout : float, default 0
        Dropout rate after hidden layers while training.
    standardize : bool, default True
        Standardise inputs from the training data; the model applies it
        itself, in Python, C or the command line alike.
    val : float, optional
        Hold out this fraction of the rows for validation (seeded).
    patience : int, default 0
        Early stopping on the validation loss (needs ``val``); keeps the
        best parameters.
    schedule : str, default "constant"
        Learning-rate schedule: constant, step, exp, cosine.
    lr_min, momentum, beta1, beta2, eps : float
        As the command line's options of the same names.
    weight_init : str, default "sklearn"
        MLPClassifier's own draw: Glorot's uniform for the weights and the
        biases alike, from ``random_state`` with numpy, so that an int
        random_state starts from the same numbers as an MLPClassifier given
        it; or the library's draws (biases 0): xavier_uniform, default, normal,
        xavier_normal, he_uniform, he_normal.
    loss : str, optional
        Default "ce" (cross-entropy).
    threads : int, default 0
        Threads for training (0: the library's default, DSC_NUM_THREADS or
        the cores this process may use; but one thread, when DSC_NUM_THREADS
        is not set, for a network whose largest product per step, batch x
        inputs x units, is below ``descent.estimators.SMALL_STEP``: 1.6 M
        multiply-adds, where a second thread cost more than it gave).
    random_state : int, RandomState or None
        Seeds initialisation and shuffles; an int gives the same model bit
        for bit on every run.
    warm_start : bool, default False
        fit() goes on from the current model instead of starting again.
    verbose : bool, default False
        Print the loss after every epoch.

    Attributes
    ----------
    classes_ : ndarray
        The class labels, sorted; output k of the model is ``classes_[k]``
        (the model file stores them as text).
    model_ : descent.Model
        The trained network.
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Only when fit on a frame with string column names; the model keeps
        them as its input names.
    n_iter_ : int
        Epochs trained.
    loss_ : float
        Final training loss.
    loss_curve_ : list of float
        Mean training loss of each epoch.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from descent import DescentClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = DescentClassifier("16:relu", random_state=0).fit(X, y)
    >>> clf.score(X, y) > 0.9
    True
    """

    _output = "softmax"
    _loss = "ce"

    def _codes(self, y: Any) -> np.ndarray:
        return encode_labels(y, self.classes_)[0]

    def fit(self, X: Any, y: Any) -> "DescentClassifier":
        """Trains on X and class labels y (any type); returns self."""
        X, y = self._checked(X, y, reset=True)
        check_classification_targets(y)
        codes, classes = encode_labels(y)
        if classes.size < 2:
            raise InvalidArgumentError(
                f"{type(self).__name__} needs at least 2 classes to learn; y has 1 class "
                f"({classes[0]!r})"
            )
        warm = self.warm_start and hasattr(self, "model_") and np.array_equal(classes, self.classes_)
        self.classes_ = classes
        seed = self._seed()
        if not warm:
            self.model_ = self._new_model(X.shape[1], classes.size, seed)
            self.model_.classes = [str(c) for c in classes]
            self._set_target(y)
        self._train(X, one_hot(codes, classes.size), self.epochs, not warm, seed)
        return self

    def _checked(self, X: Any, y: Any, reset: bool):
        if y is None:
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target y is None"
            )
        X = self._inputs(X, reset=reset)
        self._y_name = getattr(y, "name", None)
        y = column_or_1d(y, warn=True)
        check_consistent_length(X, y)
        return X, y

    def _set_target(self, y: Any) -> None:
        if isinstance(getattr(self, "_y_name", None), str):
            self.model_.target = self._y_name

    def partial_fit(
        self, X: Any, y: Any, classes: Optional[Sequence[Any]] = None
    ) -> "DescentClassifier":
        """One more epoch over X, y, going on from the current model and its
        optimizer state. The first call needs ``classes`` (every label that
        will ever appear); later calls refuse labels outside them."""
        first = not hasattr(self, "model_")
        X, y = self._checked(X, y, reset=first)
        if first:
            if classes is None:
                raise InvalidArgumentError(
                    "classes must be given on the first call to partial_fit (every label "
                    "the model will see)"
                )
            check_classification_targets(y)
            self.classes_ = np.unique(np.asarray(classes))
            if self.classes_.size < 2:
                raise InvalidArgumentError(f"{type(self).__name__} needs at least 2 classes")
            seed = self._seed()
            self.model_ = self._new_model(X.shape[1], self.classes_.size, seed)
            self.model_.classes = [str(c) for c in self.classes_]
            self._set_target(y)
        elif classes is not None and not np.array_equal(np.unique(np.asarray(classes)), self.classes_):
            raise InvalidArgumentError(
                f"classes {list(classes)} differ from the classes of the first call "
                f"{list(self.classes_)}"
            )
        codes = self._codes(y)
        seed = self._seed() + getattr(self, "n_iter_", 0)
        self._train(X, one_hot(codes, self.classes_.size), 1, first, seed)
        return self

    @classmethod
    def from_model(cls, model: Model, **params: Any) -> "DescentClassifier":
        """A fitted classifier around a trained model, e.g. one the command
        line saved (``DescentClassifier.from_model(Model.load("f.model"))``).

        ``classes_`` are the model's class names (text, as the model file
        keeps them); ``feature_names_in_`` its input names, when it has them.
        ``params`` set the estimator's parameters for later fits.
        """
        labels = model.classes
        if not labels or model.layers[-1][1] != "softmax":
            raise InvalidArgumentError(
                f"the model {model.spec} is not a softmax classifier with class names"
            )
        est = cls(**params)
        est.model_ = model
        est.classes_ = np.array(labels, dtype=object)
        est.n_features_in_ = model.inputs
        if model.input_names is not None:
            est.feature_names_in_ = np.array(model.input_names, dtype=object)
        est.n_iter_ = (model.summary or {}).get("epochs", 0)
        return est

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities, one column per class of ``classes_``."""
        p = self._raw(X).astype(np.float64)
        # The softmax is float32: renormalise so that rows sum to 1 in double.
        p /= p.sum(axis=1, keepdims=True)
        return p

    def predict_log_proba(self, X: Any) -> np.ndarray:
        """Logarithms of predict_proba."""
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))

    def predict(self, X: Any) -> np.ndarray:
        """The most likely class of each row."""
        best = np.argmax(self._raw(X), axis=1)
        return self.classes_[best]


class DescentRegressor(RegressorMixin, _DescentEstimator):
    """A neural network regressor trained by descent.

    Takes the same parameters as :class:`DescentClassifier` (see there);
    the output layer is linear (identity) and the loss the mean squared
    error. With ``standardize`` (the default) the targets are standardised
    too, and the model gives predictions back in their own units. ``y`` may
    have several columns.

    Attributes
    ----------
    model_ : descent.Model
    n_features_in_ : int
    feature_names_in_ : ndarray of str
    n_iter_ : int
    loss_ : float
    loss_curve_ : list of float

    Examples
    --------
    >>> import numpy as np
    >>> from descent import DescentRegressor
    >>> X = np.linspace(-2, 2, 200).reshape(-1, 1)
    >>> reg = DescentRegressor("16:tanh", random_state=0).fit(X, X.ravel() ** 2)
    >>> reg.score(X, X.ravel() ** 2) > 0.9
    True
    """

    def _checked(self, X: Any, y: Any, reset: bool):
        if y is None:
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target y is None"
            )
        X = self._inputs(X, reset=reset)
        name = getattr(y, "name", None)
        if hasattr(y, "to_numpy"):
            y = y.to_numpy()
        y = np.asarray(y)
        if y.dtype.kind in "OUSV":
            try:
                y = y.astype(np.float64)
            except (TypeError, ValueError) as e:
                raise InvalidArgumentError(f"y holds values that are not numbers: {e}") from None
        if y.ndim not in (1, 2):
            raise InvalidArgumentError(f"y must be 1-D or 2-D, not {y.ndim}-D")
        check_consistent_length(X, y)
        if reset:
            self._y_1d = y.ndim == 1
        elif (y.ndim == 1) != self._y_1d and not (y.ndim == 2 and y.shape[1] == 1):
            raise InvalidArgumentError("y has a different number of columns than in the first fit")
        Y = np.require(y.reshape(len(y), -1), dtype=np.float32, requirements=["C", "A"])
        self._y_name = name
        return X, Y

    def fit(self, X: Any, y: Any) -> "DescentRegressor":
        """Trains on X and numeric targets y (1-D, or 2-D for several); returns self."""
        X, Y = self._checked(X, y, reset=True)
        warm = (
            self.warm_start
            and hasattr(self, "model_")
            and self.model_.outputs == Y.shape[1]
            and self.model_.inputs == X.shape[1]
        )
        seed = self._seed()
        if not warm:
            self.model_ = self._new_model(X.shape[1], Y.shape[1], seed)
            if isinstance(self._y_name, str):
                self.model_.target = self._y_name
        self._train(X, Y, self.epochs, not warm, seed)
        return self

    def partial_fit(self, X: Any, y: Any) -> "DescentRegressor":
        """One more epoch over X, y, going on from the current model and its
        optimizer state (the first call builds the model; standardisation,
        if asked for, is fitted on that first batch)."""
        first = not hasattr(self, "model_")
        X, Y = self._checked(X, y, reset=first)
        if first:
            self.model_ = self._new_model(X.shape[1], Y.shape[1], self._seed())
        elif Y.shape[1] != self.model_.outputs:
            raise InvalidArgumentError(
                f"y has {Y.shape[1]} columns; the model predicts {self.model_.outputs}"
            )
        seed = self._seed() + getattr(self, "n_iter_", 0)
        self._train(X, Y, 1, first, seed)
        return self

    @classmethod
    def from_model(cls, model: Model, **params: Any) -> "DescentRegressor":
        """A fitted regressor around a trained model (e.g. one the command
        line saved); it predicts 1-D arrays when the model has one output."""
        if model.classes:
            raise InvalidArgumentError(f"the model {model.spec} is a classifier")
        est = cls(**params)
        est.model_ = model
        est.n_features_in_ = model.inputs
        if model.input_names is not None:
            est.feature_names_in_ = np.array(model.input_names, dtype=object)
        est._y_1d = model.outputs == 1
        est.n_iter_ = (model.summary or {}).get("epochs", 0)
        return est

    def predict(self, X: Any) -> np.ndarray:
        """Predictions in the targets' units: 1-D when fit on a 1-D y."""
        p = self._raw(X).astype(np.float64)
        return p.ravel() if self._y_1d else p

    def _more_tags(self) -> Dict[str, Any]:
        return {"multioutput": True, "non_deterministic": False, "requires_y": True}
