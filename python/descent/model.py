"""Models: built from a spec string, loaded from a file or bytes, run on
numpy arrays, saved, explained."""

from __future__ import annotations

import ctypes
import os
import weakref
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

from . import _capi
from .data import ArrayLike, Dataset, PathLike, _column_names, _ptr, as_rows, make_limits
from .errors import InvalidArgumentError, NotFoundError, ShapeError, check

RELU_RULES = {"0": 0, "1": 1, "random": 2}


def _enum(kind: str, name: str) -> int:
    """A loss, optimizer, schedule, activation or init name as its C value;
    an unknown name raises InvalidArgumentError listing the valid ones."""
    v = ctypes.c_int()
    check(getattr(_capi, f"{kind}_from_name")(name.encode(), ctypes.byref(v)))
    return v.value


def _str_array(items: Sequence[str]):
    arr = (ctypes.c_char_p * len(items))(*[s.encode() for s in items])
    return arr


class Model:
    """A network: dense layers, each followed by an activation.

    Parameters
    ----------
    spec : str
        ``"IN -> UNITS:ACT,... -> OUT:ACT"``, e.g. ``"4 -> 16:relu -> 3:softmax"``
        or the seed's ``"1 -> 2:softplus -> 1:identity"``.
    weight_init : str or None, default "default"
        How to draw the weights (``default``, ``normal``, ``xavier_uniform``,
        ``xavier_normal``, ``he_uniform``, ``he_normal``); biases start at 0.
        None leaves every parameter at 0, to set them by name.
    seed : int, default 42
        Seed of the weights' random stream (the same on every machine).

    Notes
    -----
    Prediction is thread-safe: many Python threads may call :meth:`predict`
    on one model at once (each call has its own workspace over the shared,
    read-only parameters, and releases the GIL). Do not train or change a
    model while other threads predict with it.
    """

    def __init__(self, spec: str, *, weight_init: Optional[str] = "default", seed: int = 42) -> None:
        out = ctypes.c_void_p()
        check(_capi.model_new(spec.encode(), ctypes.byref(out)))
        self._adopt(out.value)
        if weight_init is not None:
            self.init(weight_init, seed)

    def _adopt(self, h: int) -> None:
        self._h = h
        self._finalizer = weakref.finalize(self, _capi.model_free, h)

    @classmethod
    def _from_handle(cls, h: int) -> "Model":
        m = cls.__new__(cls)
        m._adopt(h)
        return m

    # --- files and bytes ---------------------------------------------------

    @classmethod
    def load(cls, path: PathLike, limits: Optional[Mapping[str, Union[int, str]]] = None) -> "Model":
        """Loads a model file (``descent train --save``, :meth:`save`);
        ``limits`` as for :meth:`Dataset.from_csv` (its ``max_bytes``).

        Raises
        ------
        FileError, FormatError, LimitError
            With descent's message: unreadable, truncated, corrupt, foreign,
            too large.
        """
        out = ctypes.c_void_p()
        lim = make_limits(limits)
        check(_capi.model_load_limits(os.fsencode(path), ctypes.byref(lim), ctypes.byref(out)))
        return cls._from_handle(out.value)

    def save(self, path: PathLike) -> None:
        """Saves the model file atomically: a crash never leaves half a file."""
        check(_capi.model_save(self._h, os.fsencode(path)))

    def to_bytes(self) -> bytes:
        """The model file's bytes (what :meth:`save` writes)."""
        data, size = ctypes.c_void_p(), ctypes.c_size_t()
        check(_capi.model_save_memory(self._h, ctypes.byref(data), ctypes.byref(size)))
        try:
            return ctypes.string_at(data.value, size.value)
        finally:
            _capi.buffer_free(data)

    @classmethod
    def from_bytes(cls, data: bytes, name: str = "<bytes>") -> "Model":
        """A model from the bytes of a model file; ``name`` appears in messages."""
        data = bytes(data)
        out = ctypes.c_void_p()
        check(_capi.model_load_memory(name.encode(), data, len(data), ctypes.byref(out)))
        return cls._from_handle(out.value)

    def __getstate__(self) -> Dict[str, bytes]:
        return {"model_file": self.to_bytes()}

    def __setstate__(self, state: Dict[str, bytes]) -> None:
        out = ctypes.c_void_p()
        data = state["model_file"]
        check(_capi.model_load_memory(b"<pickle>", data, len(data), ctypes.byref(out)))
        self._adopt(out.value)

    def copy(self) -> "Model":
        """A deep copy: parameters and everything the model knows."""
        out = ctypes.c_void_p()
        check(_capi.model_clone(self._h, ctypes.byref(out)))
        return Model._from_handle(out.value)

    __copy__ = copy

    def __deepcopy__(self, memo: Any) -> "Model":
        return self.copy()

    # --- what it is --------------------------------------------------------

    def init(self, weight_init: str = "default", seed: int = 42) -> None:
        """Draws new weights from the seeded stream; biases become 0."""
        check(_capi.model_init(self._h, _enum("init", weight_init), seed))

    @property
    def spec(self) -> str:
        """The spec in canonical form, e.g. ``"1 -> 2:softplus -> 1:identity"``."""
        return _capi.text(_capi.model_spec(self._h)) or ""

    @property
    def inputs(self) -> int:
        return int(_capi.model_inputs(self._h))

    @property
    def outputs(self) -> int:
        return int(_capi.model_outputs(self._h))

    @property
    def layers(self) -> List[Tuple[int, str]]:
        """(units, activation) of each layer; the last is the output."""
        return [
            (
                int(_capi.model_layer_units(self._h, k)),
                _capi.text(_capi.activation_name(_capi.model_layer_activation(self._h, k))) or "",
            )
            for k in range(_capi.model_layers(self._h))
        ]

    @property
    def param_names(self) -> List[str]:
        """The seed-style names of the parameters: w1, w2, ..., b1, ..."""
        return [
            _capi.text(_capi.model_param_name(self._h, i)) or ""
            for i in range(_capi.model_param_count(self._h))
        ]

    @property
    def params(self) -> np.ndarray:
        """A copy of every parameter, in the flat order of :attr:`param_names`."""
        n = _capi.model_param_count(self._h)
        return np.ctypeslib.as_array(_capi.model_params(self._h), shape=(n,)).copy()

    @params.setter
    def params(self, values: ArrayLike) -> None:
        v = np.ascontiguousarray(values, dtype=np.float32).reshape(-1)
        n = _capi.model_param_count(self._h)
        if v.size != n:
            raise ShapeError(f"the model {self.spec} has {n} parameters, not {v.size}")
        if not np.isfinite(v).all():
            raise InvalidArgumentError("parameter values must be finite")
        ctypes.memmove(_capi.model_params(self._h), v.ctypes.data, 4 * n)

    def __getitem__(self, name: str) -> Union[float, np.ndarray]:
        """A parameter by name: ``m["w3"]`` (a float), ``m["layer1.weight"]`` (an array)."""
        first, count = ctypes.c_size_t(), ctypes.c_size_t()
        check(_capi.model_find(self._h, name.encode(), ctypes.byref(first), ctypes.byref(count)))
        p = self.params
        return float(p[first.value]) if count.value == 1 and "." not in name else p[
            first.value : first.value + count.value
        ]

    def __setitem__(self, name: str, value: float) -> None:
        """Sets every parameter the name covers to value."""
        check(_capi.model_set(self._h, name.encode(), float(value)))

    @property
    def input_names(self) -> Optional[List[str]]:
        """Names of the input columns, or None."""
        if not _capi.model_input_name(self._h, 0):
            return None
        return [_capi.text(_capi.model_input_name(self._h, j)) or "" for j in range(self.inputs)]

    @input_names.setter
    def input_names(self, names: Optional[Sequence[str]]) -> None:
        if names is None:
            check(_capi.model_set_input_names(self._h, None))
            return
        names = [str(s) for s in names]
        if len(names) != self.inputs:
            raise ShapeError(f"{len(names)} names for a model with {self.inputs} inputs")
        check(_capi.model_set_input_names(self._h, _str_array(names)))

    @property
    def target(self) -> Optional[str]:
        """Target column name(s), comma-separated, or None."""
        return _capi.text(_capi.model_target(self._h))

    @target.setter
    def target(self, name: Optional[str]) -> None:
        check(_capi.model_set_target(self._h, None if name is None else name.encode()))

    @property
    def classes(self) -> Optional[List[str]]:
        """Class labels of a classifier, in the order of its outputs, or None."""
        k = _capi.model_classes(self._h)
        return [_capi.text(_capi.model_class_label(self._h, i)) or "" for i in range(k)] or None

    @classes.setter
    def classes(self, labels: Optional[Sequence[Any]]) -> None:
        if not labels:
            check(_capi.model_set_classes(self._h, None, 0))
            return
        labels = [str(c) for c in labels]
        check(_capi.model_set_classes(self._h, _str_array(labels), len(labels)))

    @property
    def relu_grad_at_zero(self) -> str:
        """ReLU's derivative at exactly 0: "0", "1" or "random"."""
        v = _capi.model_relu_grad(self._h)
        return {b: a for a, b in RELU_RULES.items()}[v]

    @relu_grad_at_zero.setter
    def relu_grad_at_zero(self, rule: Union[str, int]) -> None:
        if str(rule) not in RELU_RULES:
            raise InvalidArgumentError(f"relu_grad_at_zero must be 0, 1 or random, not {rule!r}")
        _capi.model_set_relu_grad(self._h, RELU_RULES[str(rule)])

    @property
    def standardization(self) -> Optional[Dict[str, Optional[np.ndarray]]]:
        """Means and standard deviations of inputs (and regression targets)
        the model applies itself, or None."""
        out = {}
        for key, fn, n in (
            ("input_mean", _capi.model_input_mean, self.inputs),
            ("input_std", _capi.model_input_std, self.inputs),
            ("target_mean", _capi.model_target_mean, self.outputs),
            ("target_std", _capi.model_target_std, self.outputs),
        ):
            p = fn(self._h)
            out[key] = np.ctypeslib.as_array(p, shape=(n,)).copy() if p else None
        return out if out["input_mean"] is not None or out["target_mean"] is not None else None

    def fit_standardization(self, data: Dataset, targets_too: bool = True) -> None:
        """Standardises inputs (and regression targets) from ``data``: the
        model then takes and gives data in its original units."""
        check(_capi.model_fit_standardization(self._h, data._h, int(targets_too)))

    @property
    def summary(self) -> Optional[Dict[str, Any]]:
        """How the model was trained (kept in the model file), or None."""
        p = _capi.model_get_summary(self._h)
        if not p:
            return None
        s = p.contents
        return {
            "loss": s.loss.decode(),
            "optimizer": s.optimizer.decode(),
            "stop": s.stop.decode(),
            "iterations": int(s.iterations),
            "epochs": int(s.epochs),
            "samples": int(s.samples),
            "loss_value": s.loss_value,
            "val_loss": s.val_loss,
            "accuracy": s.accuracy,
            "seconds": s.seconds,
        }

    def default_loss(self) -> str:
        """The loss `descent eval` uses: the training loss kept in the model,
        else ce for a classifier and mse otherwise."""
        s = self.summary
        if s and s["loss"]:
            return s["loss"]
        return "ce" if self.classes else "mse"

    # --- running it --------------------------------------------------------

    def _rows(self, x: ArrayLike) -> np.ndarray:
        """x as the model's input matrix: a frame's columns matched to the
        model's input names (in any order, as ``descent predict`` does)."""
        names = _column_names(x)
        mine = self.input_names
        if names is not None and mine is not None and names != mine:
            missing = [c for c in mine if c not in names]
            if missing:
                raise NotFoundError(
                    f"the model's input column '{missing[0]}' is not in the data "
                    f"(columns: {', '.join(names)})"
                )
            x = x[mine]
        a = as_rows(x)
        if a.shape[1] != self.inputs:
            raise ShapeError(
                f"the data has {a.shape[1]} input columns; the model {self.spec} takes "
                f"{self.inputs}"
            )
        return a

    def predict(self, x: ArrayLike) -> np.ndarray:
        """The model's outputs for each row of x.

        Parameters
        ----------
        x : array-like of shape (n_rows, inputs)
            float32 C-ordered arrays are read where they lie; others are
            converted once. A frame's columns are matched to the model's
            input names.

        Returns
        -------
        ndarray of float32, shape (n_rows, outputs)
            For a softmax classifier, the class probabilities.

        Raises
        ------
        ShapeError
            For the wrong number of columns.
        InvalidArgumentError
            For a NaN or infinite input (descent's message names row and column).
        """
        a = self._rows(x)
        n = a.shape[0]
        y = np.empty((n, self.outputs), dtype=np.float32)
        if n:
            check(_capi.model_predict(self._h, _ptr(a), n, _ptr(y)))
        return y

    def predict_label(self, x: ArrayLike) -> Tuple[np.ndarray, np.ndarray]:
        """For a classifier: each row's most likely class label and its
        probability, as ``descent predict`` writes them."""
        classes = self.classes
        if not classes:
            raise InvalidArgumentError(f"the model {self.spec} has no class labels")
        p = self.predict(x)
        if p.shape[1] == 1:
            best = (p[:, 0] >= 0.5).astype(np.intp)
            prob = np.where(best == 1, p[:, 0], 1.0 - p[:, 0].astype(np.float64))
        else:
            best = np.argmax(p, axis=1)
            prob = p[np.arange(p.shape[0]), best]
        return np.asarray(classes, dtype=object)[best], prob

    def evaluate(self, data: Dataset, loss: Optional[str] = None) -> Dict[str, Any]:
        """Scores the model on ``data`` as ``descent eval`` does.

        Returns
        -------
        dict
            ``n``, ``loss``; for a classifier ``accuracy``, ``confusion``
            (rows: true class), ``precision``, ``recall``, ``f1`` per class;
            for a regression ``mse``, ``mae``, ``r2``.
        """
        mt = _capi.Metrics()
        check(
            _capi.model_evaluate(
                self._h, data._h, _enum("loss", loss or self.default_loss()), ctypes.byref(mt)
            )
        )
        try:
            out: Dict[str, Any] = {"n": int(mt.n), "loss": mt.loss}
            k = int(mt.n_classes)
            if k:
                out["accuracy"] = mt.accuracy
                out["confusion"] = np.ctypeslib.as_array(mt.confusion, shape=(k, k)).copy()
                for key in ("precision", "recall", "f1"):
                    out[key] = np.ctypeslib.as_array(getattr(mt, key), shape=(k,)).copy()
            else:
                out.update(mse=mt.mse, mae=mt.mae, r2=mt.r2)
            return out
        finally:
            _capi.metrics_free(ctypes.byref(mt))

    def loss(self, data: Dataset, loss: Optional[str] = None) -> float:
        """The loss of the model on all of ``data`` (no update)."""
        v = ctypes.c_double()
        check(
            _capi.evaluate_loss(
                self._h, data._h, _enum("loss", loss or self.default_loss()), ctypes.byref(v)
            )
        )
        return v.value

    def explain(
        self,
        data: Dataset,
        params: Union[str, Sequence[str], None] = None,
        loss: Optional[str] = None,
        json: bool = False,
    ) -> str:
        """dLoss/dparam written out as the chain rule, with the numbers, as
        ``descent explain`` prints it, each total checked against
        backpropagation.

        Parameters
        ----------
        data : Dataset
            At most 32 rows.
        params : str or list of str, optional
            Parameter names (``"b3"``, ``"w1,b3"``, ``"layer2.weight"``);
            default: all (at most 64).
        loss : str, optional
            Default: the model's training loss (ce/mse without one).
        json : bool
            One JSON object instead of the text.
        """
        if params is not None and not isinstance(params, str):
            params = ",".join(params)
        text = ctypes.c_void_p()
        diff = ctypes.c_double()
        check(
            _capi.model_explain(
                self._h,
                data._h,
                _enum("loss", loss or self.default_loss()),
                None if params is None else params.encode(),
                int(json),
                ctypes.byref(text),
                ctypes.byref(diff),
            )
        )
        try:
            return (ctypes.string_at(text.value) or b"").decode()
        finally:
            _capi.buffer_free(text)

    def __repr__(self) -> str:
        return f"<descent.Model {self.spec}>"
