"""Data sets: numpy arrays (borrowed where the library can read them as
they are), CSV and IDX files."""

from __future__ import annotations

import ctypes
import os
import weakref
from typing import Any, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

from . import _capi
from .errors import InvalidArgumentError, NotFoundError, ShapeError, check

ArrayLike = Any
#: dsc_target_kind by name.
TARGET_KINDS = {"auto": 0, "values": 1, "classes": 2}
PathLike = Union[str, "os.PathLike[str]"]


def _column_names(x: Any) -> Optional[List[str]]:
    """A pandas-like frame's column names, when they are all strings."""
    cols = getattr(x, "columns", None)
    if cols is None:
        return None
    names = list(cols)
    return [str(c) for c in names] if all(isinstance(c, str) for c in names) else None


def as_rows(x: ArrayLike, what: str = "x") -> np.ndarray:
    """x as a C-ordered float32 matrix: the array itself when it already is
    one (no copy), else one converted copy. A 1-D array is one column."""
    if hasattr(x, "columns") and hasattr(x, "to_numpy"):
        x = x.to_numpy()
    a = np.asarray(x)
    if a.dtype.kind in "cOUSV" and a.dtype != np.float32:
        if a.dtype.kind == "c":
            raise InvalidArgumentError(f"{what} holds complex numbers; descent needs real numbers")
        try:
            a = a.astype(np.float64)
        except (TypeError, ValueError) as e:
            raise InvalidArgumentError(f"{what} holds values that are not numbers: {e}") from None
    if a.ndim == 1:
        a = a.reshape(-1, 1)
    if a.ndim != 2:
        raise ShapeError(f"{what} must be a table (rows x columns), not a {a.ndim}-D array")
    # float32, C order, aligned: borrowed as it is; anything else converts once.
    return np.require(a, dtype=np.float32, requirements=["C", "A"])


_UNITS = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}


def byte_count(v: Union[int, str], what: str) -> int:
    """A whole number >= 0, or digits and one of K, M, G, T (KiB ...), as the
    command line reads --max-bytes."""
    if isinstance(v, (int, np.integer)) and not isinstance(v, bool) and v >= 0:
        return int(v)
    t = str(v).strip()
    mult = 1
    if t and t[-1].upper() in _UNITS:
        mult, t = _UNITS[t[-1].upper()], t[:-1]
    if not t.isdigit():
        raise InvalidArgumentError(f"{what} expects a whole number >= 0 (K, M, G, T: KiB ...), not {v!r}")
    return int(t) * mult


def make_limits(limits: Optional[Mapping[str, Union[int, str]]]) -> "_capi.Limits":
    """dsc_limits from a mapping of max_bytes, max_line_bytes, max_rows
    (missing keys: the library's defaults; 0: no limit)."""
    lim = _capi.Limits()
    _capi.limits_init(ctypes.byref(lim))
    for k, v in (limits or {}).items():
        if k not in ("max_bytes", "max_line_bytes", "max_rows"):
            raise InvalidArgumentError(f"unknown limit {k!r} (max_bytes, max_line_bytes, max_rows)")
        setattr(lim, k, byte_count(v, k))
    return lim


def _ptr(a: Optional[np.ndarray]):
    return None if a is None else a.ctypes.data_as(ctypes.POINTER(ctypes.c_float))


def encode_labels(
    labels: ArrayLike, classes: Optional[Sequence[Any]] = None
) -> Tuple[np.ndarray, np.ndarray]:
    """Class indices for labels, and the classes (sorted unique labels
    unless given). A label that is not one of the given classes raises
    NotFoundError naming it and its row."""
    y = np.asarray(labels)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y.ravel()
    if y.ndim != 1:
        raise ShapeError(f"labels must be one column, not an array of shape {y.shape}")
    if classes is None:
        if y.dtype.kind in "iu" and y.size:
            # Small integer ranges: counting is linear, np.unique sorts.
            lo, hi = int(y.min()), int(y.max())
            if hi - lo < 1 << 20:
                present = np.flatnonzero(np.bincount(y - lo, minlength=hi - lo + 1))
                table = np.full(hi - lo + 1, -1, dtype=np.intp)
                table[present] = np.arange(present.size)
                return table[y - lo], (present + lo).astype(y.dtype)
        cls, codes = np.unique(y, return_inverse=True)
        return codes.reshape(-1), cls
    cls = np.asarray(classes)
    if (cls.dtype.kind in "US") != (y.dtype.kind in "US") and y.dtype.kind != "O":
        # Numbers against names (a model's classes are text): compare as text.
        return encode_labels(y.astype(str), cls.astype(str))[0], cls
    if y.dtype.kind in "iu" and cls.dtype.kind in "iu" and cls.size and y.size:
        lo, hi = int(min(y.min(), cls.min())), int(max(y.max(), cls.max()))
        if hi - lo < 1 << 20:
            table = np.full(hi - lo + 1, -1, dtype=np.intp)
            table[cls - lo] = np.arange(cls.size)
            codes = table[y - lo]
            bad = np.flatnonzero(codes < 0)
            if bad.size:
                _unseen(y, bad[0], cls)
            return codes, cls
    order = np.argsort(cls, kind="stable")
    try:
        pos = np.searchsorted(cls[order], y)
    except TypeError:
        # Mixed types (numbers and strings): compare as text.
        return encode_labels(y.astype(str), cls.astype(str))[0], cls
    pos = np.minimum(pos, cls.size - 1)
    codes = order[pos]
    bad = np.flatnonzero(cls[codes] != y)
    if bad.size:
        _unseen(y, bad[0], cls)
    return codes, cls


def _unseen(y: np.ndarray, row: int, cls: np.ndarray) -> None:
    shown = ", ".join(str(c) for c in cls[:20]) + (", ..." if cls.size > 20 else "")
    raise NotFoundError(
        f"label '{y[row]}' at row {row + 1} is not one of the {cls.size} classes "
        f"the model knows ({shown})"
    )


def one_hot(codes: np.ndarray, k: int) -> np.ndarray:
    y = np.zeros((codes.size, k), dtype=np.float32)
    y[np.arange(codes.size), codes] = 1.0
    return y


class Dataset:
    """A table of rows: inputs, and targets to train on or score against.

    Parameters
    ----------
    x : array-like of shape (n_rows, n_inputs)
        The inputs, numbers of any numeric dtype; a 1-D array is one column.
        A float32 C-ordered array is *borrowed*: the library reads it where
        it lies, without a copy, so it must not change while the Dataset
        lives (the Dataset keeps a reference to it). Any other array is
        converted once to float32 in C order. A pandas-like frame gives its
        column names to models trained on it.
    y : array-like of shape (n_rows,) or (n_rows, n_outputs), optional
        Numeric targets (regression). Omit for data to predict from.
    labels : array-like of shape (n_rows,), optional
        Class labels of any type (classification), instead of ``y``: the
        targets become one-hot rows over ``classes``.
    classes : sequence, optional
        The classes of ``labels``, in the order of the model's outputs;
        default: the sorted unique labels. A label not among them raises
        :class:`NotFoundError`.
    names : list of str, optional
        Column names of the inputs (default: a frame's columns).
    target : str, optional
        Name of the target column(s), comma-separated (default: the name
        of a pandas Series given as ``y`` or ``labels``).

    Raises
    ------
    InvalidArgumentError
        For a NaN or infinite value (descent's message names its row and
        column), no rows, or values that are not numbers.
    ShapeError
        When x and y disagree on the number of rows.
    """

    def __init__(
        self,
        x: ArrayLike,
        y: Optional[ArrayLike] = None,
        *,
        labels: Optional[ArrayLike] = None,
        classes: Optional[Sequence[Any]] = None,
        names: Optional[Sequence[str]] = None,
        target: Optional[str] = None,
    ) -> None:
        if y is not None and labels is not None:
            raise InvalidArgumentError("give y (numbers) or labels (classes), not both")
        self.names: Optional[List[str]] = list(names) if names is not None else _column_names(x)
        src = labels if labels is not None else y
        self.target: Optional[str] = target
        if self.target is None and src is not None:
            n = getattr(src, "name", None)
            self.target = n if isinstance(n, str) else None
        original = x
        self._x = as_rows(x)
        self._from_library = False
        #: True when the library reads the caller's array itself (no copy).
        self.borrowed: bool = isinstance(original, np.ndarray) and np.shares_memory(
            self._x, original
        )
        n = self._x.shape[0]
        self.classes: Optional[np.ndarray] = None
        self._y: Optional[np.ndarray] = None
        if labels is not None:
            codes, self.classes = encode_labels(labels, classes)
            if codes.size != n:
                raise ShapeError(f"x has {n} rows, labels {codes.size}")
            self._y = one_hot(codes, self.classes.size)
        elif y is not None:
            if hasattr(y, "to_numpy"):
                y = y.to_numpy()
            self._y = as_rows(y, "y")
            if self._y.shape[0] != n:
                raise ShapeError(f"x has {n} rows, y {self._y.shape[0]}")
        if self.names is not None and len(self.names) != self._x.shape[1]:
            raise ShapeError(f"{len(self.names)} names for {self._x.shape[1]} input columns")
        out = ctypes.c_void_p()
        k = 0 if self._y is None else self._y.shape[1]
        check(_capi.dataset_wrap(_ptr(self._x), _ptr(self._y), n, self._x.shape[1], k, ctypes.byref(out)))
        self._set_handle(out.value)

    def _set_handle(self, h: Optional[int]) -> None:
        self._h = h
        self._finalizer = weakref.finalize(self, _capi.dataset_free, h)

    @classmethod
    def _adopt(cls, h: int) -> "Dataset":
        """A Dataset around a handle the library made (CSV, IDX, split)."""
        d = cls.__new__(cls)
        d._x = d._y = None
        d.borrowed = False
        d._from_library = True
        d._set_handle(h)
        k = _capi.dataset_classes(h)
        d.classes = (
            np.array([_capi.text(_capi.dataset_class_label(h, i)) for i in range(k)], dtype=object)
            if k
            else None
        )
        n_in = _capi.dataset_inputs(h)
        first = _capi.dataset_input_name(h, 0)
        d.names = (
            [_capi.text(_capi.dataset_input_name(h, j)) for j in range(n_in)] if first else None
        )
        d.target = _capi.text(_capi.dataset_target_name(h))
        return d

    @staticmethod
    def _csv_options(target, ignore, features, target_kind, limits) -> Tuple[Any, list]:
        o = _capi.CsvOptions()
        _capi.csv_options_init(ctypes.byref(o))
        if limits is not None:
            o.limits = make_limits(limits)
        keep = [None if s is None else s.encode() for s in (target, ignore, features)]
        o.target, o.ignore, o.features = keep
        if target_kind not in TARGET_KINDS:
            raise InvalidArgumentError(
                f"target_kind must be one of {', '.join(TARGET_KINDS)}, not {target_kind!r}"
            )
        o.target_kind = TARGET_KINDS[target_kind]
        return o, keep

    @classmethod
    def from_csv(
        cls,
        path: PathLike,
        target: Optional[str] = None,
        ignore: Optional[str] = None,
        features: Optional[str] = None,
        target_kind: str = "auto",
        limits: Optional[Mapping[str, Union[int, str]]] = None,
    ) -> "Dataset":
        """Reads a CSV file with a header row, as ``descent train --data`` does.

        Parameters
        ----------
        path : str or path
            The file (``"-"``: standard input).
        target, ignore, features : str, optional
            Comma-separated column names or 1-based indexes, as the command
            line's ``--target``, ``--ignore`` and ``--features``; ``target=""``
            reads inputs only.
        target_kind : {"auto", "values", "classes"}
            "auto": a lone target column with text in it holds class labels,
            numbers are values to fit; "classes": class labels even when they
            are numbers (the command line's ``--classes``); "values": numbers
            only.
        limits : mapping, optional
            ``max_bytes``, ``max_line_bytes``, ``max_rows`` (ints, or "1G"
            style strings; 0: none); default the library's (1 GiB, 1 MiB,
            10,000,000 rows). A file beyond one raises LimitError.

        Raises
        ------
        FileError, FormatError, NotFoundError
            With descent's ``FILE:LINE:COLUMN: what`` message.
        """
        o, keep = cls._csv_options(target, ignore, features, target_kind, limits)
        out = ctypes.c_void_p()
        check(_capi.dataset_from_csv(os.fsencode(path), ctypes.byref(o), ctypes.byref(out)))
        return cls._adopt(out.value)

    @classmethod
    def for_model(
        cls,
        model: Any,
        path: PathLike,
        target: Optional[str] = None,
        ignore: Optional[str] = None,
        target_kind: str = "auto",
        limits: Optional[Mapping[str, Union[int, str]]] = None,
    ) -> "Dataset":
        """Reads a CSV file the way ``model`` reads data (``descent eval``,
        ``predict``, ``train --model``): its input columns by name in any
        order, its target column, a classifier's labels matched to its
        classes by name. A label the model does not know raises FormatError
        naming it and FILE:LINE:COLUMN."""
        o, keep = cls._csv_options(target, ignore, None, target_kind, limits)
        out = ctypes.c_void_p()
        check(
            _capi.model_read_csv(model._h, os.fsencode(path), ctypes.byref(o), ctypes.byref(out))
        )
        return cls._adopt(out.value)

    @classmethod
    def from_idx(
        cls,
        images: PathLike,
        labels: PathLike,
        limits: Optional[Mapping[str, Union[int, str]]] = None,
    ) -> "Dataset":
        """Reads IDX image and label files (MNIST, Fashion-MNIST), plain or
        gzip; ``limits`` as for :meth:`from_csv`."""
        out = ctypes.c_void_p()
        lim = make_limits(limits)
        check(
            _capi.dataset_from_idx_limits(
                os.fsencode(images), os.fsencode(labels), ctypes.byref(lim), ctypes.byref(out)
            )
        )
        return cls._adopt(out.value)

    def split(self, fraction: float, seed: int = 42) -> Tuple["Dataset", "Dataset"]:
        """A training part and a validation part holding about ``fraction``
        of the rows, drawn by a seeded shuffle (the command line's ``--val``)."""
        a, b = ctypes.c_void_p(), ctypes.c_void_p()
        check(_capi.dataset_split(self._h, fraction, seed, ctypes.byref(a), ctypes.byref(b)))
        parts = []
        for h in (a.value, b.value):
            p = Dataset._adopt(h)
            p.classes, p.names, p.target = self.classes, self.names, self.target
            parts.append(p)
        return parts[0], parts[1]

    @property
    def input_shape(self) -> Tuple[int, ...]:
        """The shape of one row's inputs: (inputs,) for features, (1, H, W)
        for IDX images."""
        dims = (ctypes.c_size_t * 3)()
        rank = _capi.dataset_input_shape(self._h, dims)
        return tuple(int(dims[k]) for k in range(rank))

    @property
    def rows(self) -> int:
        """Number of rows."""
        return int(_capi.dataset_rows(self._h))

    @property
    def inputs(self) -> int:
        """Number of input columns."""
        return int(_capi.dataset_inputs(self._h))

    @property
    def outputs(self) -> int:
        """Number of target columns (one per class for labels; 0 without targets)."""
        return int(_capi.dataset_outputs(self._h))

    def __len__(self) -> int:
        return self.rows

    def to_numpy(self) -> Tuple[np.ndarray, Optional[np.ndarray]]:
        """Copies of the inputs and the targets (None without targets)."""
        n, i, o = self.rows, self.inputs, self.outputs
        x = np.ctypeslib.as_array(_capi.dataset_x(self._h), shape=(n, i)).copy()
        y = np.ctypeslib.as_array(_capi.dataset_y(self._h), shape=(n, o)).copy() if o else None
        return x, y

    def __repr__(self) -> str:
        kind = f"{self.classes.size} classes" if self.classes is not None else f"{self.outputs} outputs"
        return f"<descent.Dataset {self.rows} rows x {self.inputs} inputs, {kind}>"
