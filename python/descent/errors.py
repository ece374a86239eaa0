"""descent's failures as Python exceptions.

Every library call that fails raises a subclass of :class:`Error` whose
message is descent's own (what went wrong and where, e.g. ``input value at
row 3, column 2 is NaN``). Each subclass also derives from the built-in
exception a Python programmer would catch for it: bad arguments and bad data
are ``ValueError``, unreadable files ``OSError``, and so on.
"""

from __future__ import annotations

from typing import Any, Dict, Optional, Type

from . import _capi


class Error(Exception):
    """A failure reported by descent.

    Attributes
    ----------
    status : int
        The library's status code (``dsc_status``).
    status_name : str
        Its name, e.g. ``"DSC_EINVAL"``.
    result : TrainResult or None
        For a training run that ended in failure (divergence), what the
        run reached; None otherwise.
    """

    status = -1
    status_name = "DSC_E?"

    def __init__(self, message: str, result: Optional[Any] = None) -> None:
        super().__init__(message)
        self.result = result


class InvalidArgumentError(Error, ValueError):
    """An argument, option or value is invalid (``DSC_EINVAL``)."""

    status, status_name = 1, "DSC_EINVAL"


class OutOfMemoryError(Error, MemoryError):
    """An allocation failed (``DSC_ENOMEM``)."""

    status, status_name = 2, "DSC_ENOMEM"


class FileError(Error, OSError):
    """A file could not be read or written (``DSC_EIO``)."""

    status, status_name = 3, "DSC_EIO"


class FormatError(Error, ValueError):
    """A file or string is malformed (``DSC_EFORMAT``)."""

    status, status_name = 4, "DSC_EFORMAT"


class ShapeError(Error, ValueError):
    """Shapes do not fit together (``DSC_ESHAPE``)."""

    status, status_name = 5, "DSC_ESHAPE"


class NotFoundError(Error, LookupError):
    """A named thing (parameter, column, class) does not exist (``DSC_ENOTFOUND``)."""

    status, status_name = 6, "DSC_ENOTFOUND"


class DivergedError(Error, ArithmeticError):
    """Training diverged: the loss became NaN or infinite (``DSC_EDIVERGED``).

    The model keeps the parameters of the last finite step; ``result`` holds
    the run's figures.
    """

    status, status_name = 7, "DSC_EDIVERGED"


class CancelledError(Error):
    """A callback asked to stop (``DSC_ECANCELLED``)."""

    status, status_name = 8, "DSC_ECANCELLED"


class UnsupportedError(Error, NotImplementedError):
    """Valid, but not supported by this build of the library (``DSC_EUNSUPPORTED``)."""

    status, status_name = 9, "DSC_EUNSUPPORTED"


class LimitError(Error, ValueError):
    """An input is larger than a size limit allows (``DSC_ELIMIT``): bytes of
    a file, of a CSV record, rows; see the ``max_*`` options."""

    status, status_name = 10, "DSC_ELIMIT"


class TrainingInterrupted(KeyboardInterrupt):
    """Ctrl-C stopped a training run.

    The model keeps the parameters reached so far (and was saved when
    ``save=`` was given, as the command line does); ``result`` holds the run's
    figures. It derives from ``KeyboardInterrupt``, so code that does not
    catch it stops as Ctrl-C always stops Python.
    """

    def __init__(self, message: str, result: Optional[Any] = None) -> None:
        super().__init__(message)
        self.result = result


_BY_STATUS: Dict[int, Type[Error]] = {
    c.status: c
    for c in (
        InvalidArgumentError,
        OutOfMemoryError,
        FileError,
        FormatError,
        ShapeError,
        NotFoundError,
        DivergedError,
        CancelledError,
        UnsupportedError,
        LimitError,
    )
}


def error_for(status: int, message: Optional[str] = None, result: Any = None) -> Error:
    """The exception for a status, with descent's message for this thread."""
    if message is None:
        message = _capi.text(_capi.last_error()) or ""
    if not message:
        message = _capi.text(_capi.strerror(status)) or f"status {status}"
    cls = _BY_STATUS.get(status, Error)
    e = cls(message, result)
    if cls is Error:
        e.status = status
    return e


def check(status: int) -> None:
    """Raises the exception for a failing status; returns for DSC_OK."""
    if status != 0:
        raise error_for(status)
