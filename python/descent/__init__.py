"""descent from Python: gradient descent and backpropagation on numpy arrays.

The package calls the C library libdescent through ctypes (no compiled
extension). It looks for the library, in order: the file named by the
``DESCENT_LIBRARY`` environment variable; ``libdescent.so.0`` where the
dynamic linker finds it (``LD_LIBRARY_PATH``, the ``ldconfig`` cache);
``lib/`` under ``sys.prefix`` and ``/usr/local``; ``pkg-config``'s
``libdir`` for ``descent``.

Low level: :class:`Dataset`, :class:`Model`, :func:`train`. scikit-learn
estimators: :class:`DescentClassifier` and :class:`DescentRegressor` (they
need scikit-learn, imported when first used).

>>> import numpy as np, descent
>>> r = descent.train([0, 0.5, 1], [0, 1, 0], layers="2:softplus", lr=0.1, max_iter=5000)
>>> r.model.predict([[0.5]]).round(2)  # doctest: +SKIP
"""

from . import _capi
from .data import Dataset
from .errors import (
    CancelledError,
    DivergedError,
    Error,
    FileError,
    FormatError,
    InvalidArgumentError,
    LimitError,
    NotFoundError,
    OutOfMemoryError,
    ShapeError,
    TrainingInterrupted,
    UnsupportedError,
)
from .model import Model
from .training import CLI_ONLY_OPTIONS, Progress, TrainResult, train

__version__ = "0.1.0"

#: The version of the C library loaded (e.g. "0.1.0").
library_version: str = _capi.text(_capi.version()) or ""
#: The library build's choices: GEMM kernel, OpenMP, zlib, CBLAS.
build_info: str = _capi.text(_capi.build_info()) or ""

# The structs mirrored in _capi belong to one version of descent.h: another
# library's layouts would be read and written wrongly, so refuse it.
if library_version.split(".")[:2] != __version__.split(".")[:2]:
    raise ImportError(
        f"descent: this package is for libdescent {__version__}, but the library loaded "
        f"({_capi.lib._name}) is {library_version}: install the package from the same source"
    )

__all__ = [
    "Dataset",
    "Model",
    "train",
    "TrainResult",
    "Progress",
    "CLI_ONLY_OPTIONS",
    "Error",
    "InvalidArgumentError",
    "OutOfMemoryError",
    "FileError",
    "FormatError",
    "ShapeError",
    "NotFoundError",
    "DivergedError",
    "CancelledError",
    "UnsupportedError",
    "LimitError",
    "TrainingInterrupted",
    "DescentClassifier",
    "DescentRegressor",
    "library_version",
    "build_info",
]


def __getattr__(name: str):
    # The estimators import scikit-learn: only when asked for.
    if name in ("DescentClassifier", "DescentRegressor"):
        from . import estimators as _sk

        return getattr(_sk, name)
    raise AttributeError(f"module 'descent' has no attribute {name!r}")
