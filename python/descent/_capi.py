"""The C library through ctypes: finding libdescent, its functions, and the
structs Python fills or reads.

Every struct mirrored here is checked field by field against the C header by
the test suite (``python/tests/test_layout.py`` against ``tests/py_layout.c``),
so the two cannot drift apart unnoticed. Structs the library fills carry a
spare tail, so that a field appended in C can never make the library write
past a Python buffer before the test says so.

ctypes releases the GIL around every call into the library, so training and
prediction let other Python threads run.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import subprocess
import sys
from ctypes import (
    CFUNCTYPE,
    POINTER,
    Structure,
    c_char,
    c_char_p,
    c_double,
    c_float,
    c_int,
    c_long,
    c_size_t,
    c_uint64,
    c_void_p,
)
from typing import List, Optional

# --- finding the library ---------------------------------------------------

_SONAME = "libdescent.so.0"


def _candidates() -> List[str]:
    """Where libdescent is looked for, in order (see the package docstring)."""
    out = []
    env = os.environ.get("DESCENT_LIBRARY")
    if env:
        out.append(env)
    # The dynamic linker's own search: LD_LIBRARY_PATH, the ld.so cache,
    # the system folders.
    out.append(_SONAME)
    # Where `make install` puts it when ldconfig has not been run since.
    for prefix in (sys.prefix, "/usr/local"):
        for lib in ("lib", "lib64", "lib/x86_64-linux-gnu"):
            out.append(os.path.join(prefix, lib, _SONAME))
    return out


def _pkg_config_candidate() -> Optional[str]:
    try:
        r = subprocess.run(
            ["pkg-config", "--variable=libdir", "descent"],
            capture_output=True,
            text=True,
            timeout=10,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    libdir = r.stdout.strip()
    return os.path.join(libdir, _SONAME) if r.returncode == 0 and libdir else None


def _load() -> ctypes.CDLL:
    tried = []
    names = _candidates()
    for name in names + [None]:
        if name is None:
            name = _pkg_config_candidate() or ctypes.util.find_library("descent")
            if not name:
                break
        try:
            return ctypes.CDLL(name)
        except OSError as e:
            tried.append(f"  {name}: {e}")
            if name == os.environ.get("DESCENT_LIBRARY"):
                # An explicit choice that fails is an error, not a hint.
                raise ImportError(
                    f"descent: DESCENT_LIBRARY={name} cannot be loaded: {e}"
                ) from None
    raise ImportError(
        "descent: libdescent is not installed or not found. Build and install it "
        "(`make install`, then `ldconfig`), or point DESCENT_LIBRARY at "
        "libdescent.so. Tried:\n" + "\n".join(tried)
    )


lib = _load()

# --- structs ---------------------------------------------------------------

_SPARE = 256  # bytes after the last field of structs the library fills


class StepInfo(Structure):
    _fields_ = [
        ("iter", c_size_t),
        ("epoch", c_size_t),
        ("loss", c_double),
        ("learning_rate", c_double),
        ("params", POINTER(c_float)),
        ("grads", POINTER(c_float)),
        ("steps", POINTER(c_float)),
        ("n_params", c_size_t),
        ("rows", POINTER(ctypes.c_uint32)),
        ("n_rows", c_size_t),
    ]


class EpochInfo(Structure):
    _fields_ = [
        ("epoch", c_size_t),
        ("epochs", c_size_t),
        ("loss", c_double),
        ("val_loss", c_double),
        ("seconds", c_double),
    ]


class TrainState(Structure):
    _fields_ = [
        ("epoch", c_uint64),
        ("iterations", c_uint64),
        ("optimizer_t", c_uint64),
        ("n_state", c_size_t),
        ("state", POINTER(c_float)),
        ("best_val", c_double),
        ("since_best", c_uint64),
        ("n_best", c_size_t),
        ("best", POINTER(c_float)),
        ("_spare", c_char * _SPARE),
    ]


ON_STEP = CFUNCTYPE(c_int, POINTER(StepInfo), c_void_p)
ON_EPOCH = CFUNCTYPE(c_int, POINTER(EpochInfo), c_void_p)
ON_CHECKPOINT = CFUNCTYPE(c_int, POINTER(TrainState), c_void_p)


class TrainParams(Structure):
    _fields_ = [
        ("loss", c_int),
        ("optimizer", c_int),
        ("learning_rate", c_double),
        ("momentum", c_double),
        ("beta1", c_double),
        ("beta2", c_double),
        ("eps", c_double),
        ("rms_alpha", c_double),
        ("weight_decay", c_double),
        ("dropout", c_double),
        ("schedule", c_int),
        ("lr_gamma", c_double),
        ("lr_step", c_size_t),
        ("lr_min", c_double),
        ("batch", c_size_t),
        ("epochs", c_size_t),
        ("step_tol", c_double),
        ("max_iter", c_long),
        ("grad_tol", c_double),
        ("loss_tol", c_double),
        ("only", c_char_p),
        ("seed", c_uint64),
        ("threads", c_int),
        ("val", c_void_p),
        ("patience", c_size_t),
        ("on_step", ON_STEP),
        ("on_step_light", c_int),
        ("on_epoch", ON_EPOCH),
        ("on_checkpoint", ON_CHECKPOINT),
        ("checkpoint_every", c_size_t),
        ("resume", POINTER(TrainState)),
        ("lbfgs_style", c_int),
        ("lbfgs_history", c_size_t),
        ("l2", c_double),
        ("user", c_void_p),
        ("stop", POINTER(c_int)),
        ("no_change_tol", c_double),
        ("no_change_epochs", c_size_t),
        ("loss_curve", POINTER(c_double)),
        ("checkpoint_at_end", c_int),
        ("_spare", c_char * _SPARE),
    ]


class TrainResult(Structure):
    _fields_ = [
        ("stop", c_int),
        ("iterations", c_size_t),
        ("epochs", c_size_t),
        ("loss", c_double),
        ("val_loss", c_double),
        ("grad_norm", c_double),
        ("max_step", c_double),
        ("seconds", c_double),
        ("at_rounding_level", c_int),
        ("comm_seconds", c_double),
        ("wait_seconds", c_double),
        ("_spare", c_char * _SPARE),
    ]


class ModelSummary(Structure):
    _fields_ = [
        ("loss", c_char * 16),
        ("optimizer", c_char * 16),
        ("stop", c_char * 24),
        ("iterations", c_uint64),
        ("epochs", c_uint64),
        ("samples", c_uint64),
        ("loss_value", c_double),
        ("val_loss", c_double),
        ("accuracy", c_double),
        ("seconds", c_double),
    ]


class Metrics(Structure):
    _fields_ = [
        ("n", c_size_t),
        ("loss", c_double),
        ("accuracy", c_double),
        ("n_classes", c_size_t),
        ("confusion", POINTER(c_size_t)),
        ("precision", POINTER(c_double)),
        ("recall", POINTER(c_double)),
        ("f1", POINTER(c_double)),
        ("mse", c_double),
        ("mae", c_double),
        ("r2", c_double),
        ("_spare", c_char * _SPARE),
    ]


class Limits(Structure):
    _fields_ = [
        ("max_bytes", c_uint64),
        ("max_line_bytes", c_uint64),
        ("max_rows", c_uint64),
    ]


class CsvOptions(Structure):
    _fields_ = [
        ("target", c_char_p),
        ("ignore", c_char_p),
        ("features", c_char_p),
        ("target_kind", c_int),
        ("keep", c_char_p),
        ("limits", Limits),
        ("_spare", c_char * _SPARE),
    ]


# The structs the layout test compares with C, by their C names.
MIRRORED = {
    "dsc_step_info": StepInfo,
    "dsc_epoch_info": EpochInfo,
    "dsc_train_state": TrainState,
    "dsc_train_params": TrainParams,
    "dsc_train_result": TrainResult,
    "dsc_model_summary": ModelSummary,
    "dsc_metrics": Metrics,
    "dsc_csv_options": CsvOptions,
    "dsc_limits": Limits,
}

# --- functions -------------------------------------------------------------

_P = c_void_p  # every opaque handle
_PP = POINTER(c_void_p)
_FP = POINTER(c_float)


def _fn(name, restype, *argtypes):
    f = getattr(lib, name)
    f.restype = restype
    f.argtypes = list(argtypes)
    return f


strerror = _fn("dsc_strerror", c_char_p, c_int)
last_error = _fn("dsc_last_error", c_char_p)
version = _fn("dsc_version", c_char_p)
build_info = _fn("dsc_build_info", c_char_p)
set_gemm = _fn("dsc_set_gemm", c_int, c_int)

for _kind in ("activation", "loss", "optimizer", "schedule", "init", "lbfgs_style"):
    globals()[f"{_kind}_name"] = _fn(f"dsc_{_kind}_name", c_char_p, c_int)
    globals()[f"{_kind}_from_name"] = _fn(
        f"dsc_{_kind}_from_name", c_int, c_char_p, POINTER(c_int)
    )
stop_name = _fn("dsc_stop_name", c_char_p, c_int)

dataset_from_arrays = _fn(
    "dsc_dataset_from_arrays", c_int, _FP, _FP, c_size_t, c_size_t, c_size_t, _PP
)
dataset_wrap = _fn(
    "dsc_dataset_wrap", c_int, _FP, _FP, c_size_t, c_size_t, c_size_t, _PP
)
dataset_free = _fn("dsc_dataset_free", None, _P)
dataset_rows = _fn("dsc_dataset_rows", c_size_t, _P)
dataset_inputs = _fn("dsc_dataset_inputs", c_size_t, _P)
dataset_outputs = _fn("dsc_dataset_outputs", c_size_t, _P)
dataset_x = _fn("dsc_dataset_x", _FP, _P)
dataset_y = _fn("dsc_dataset_y", _FP, _P)
csv_options_init = _fn("dsc_csv_options_init", None, POINTER(CsvOptions))
dataset_from_csv = _fn(
    "dsc_dataset_from_csv", c_int, c_char_p, POINTER(CsvOptions), _PP
)
model_read_csv = _fn(
    "dsc_model_read_csv", c_int, _P, c_char_p, POINTER(CsvOptions), _PP
)
dataset_from_idx = _fn("dsc_dataset_from_idx", c_int, c_char_p, c_char_p, _PP)
limits_init = _fn("dsc_limits_init", None, POINTER(Limits))
dataset_from_idx_limits = _fn(
    "dsc_dataset_from_idx_limits", c_int, c_char_p, c_char_p, POINTER(Limits), _PP
)
dataset_split = _fn(
    "dsc_dataset_split", c_int, _P, c_double, c_uint64, _PP, _PP
)
dataset_input_shape = _fn("dsc_dataset_input_shape", c_size_t, _P, POINTER(c_size_t))
dataset_input_name = _fn("dsc_dataset_input_name", c_char_p, _P, c_size_t)
dataset_output_name = _fn("dsc_dataset_output_name", c_char_p, _P, c_size_t)
dataset_target_name = _fn("dsc_dataset_target_name", c_char_p, _P)
dataset_classes = _fn("dsc_dataset_classes", c_size_t, _P)
dataset_class_label = _fn("dsc_dataset_class_label", c_char_p, _P, c_size_t)

model_new = _fn("dsc_model_new", c_int, c_char_p, _PP)
model_free = _fn("dsc_model_free", None, _P)
model_init = _fn("dsc_model_init", c_int, _P, c_int, c_uint64)
model_inputs = _fn("dsc_model_inputs", c_size_t, _P)
model_outputs = _fn("dsc_model_outputs", c_size_t, _P)
model_layers = _fn("dsc_model_layers", c_size_t, _P)
model_layer_units = _fn("dsc_model_layer_units", c_size_t, _P, c_size_t)
model_layer_activation = _fn("dsc_model_layer_activation", c_int, _P, c_size_t)
model_spec = _fn("dsc_model_spec", c_char_p, _P)
model_param_count = _fn("dsc_model_param_count", c_size_t, _P)
model_params = _fn("dsc_model_params", _FP, _P)
model_param_name = _fn("dsc_model_param_name", c_char_p, _P, c_size_t)
model_find = _fn(
    "dsc_model_find", c_int, _P, c_char_p, POINTER(c_size_t), POINTER(c_size_t)
)
model_set = _fn("dsc_model_set", c_int, _P, c_char_p, c_float)
model_get = _fn("dsc_model_get", c_int, _P, c_char_p, POINTER(c_float))
model_set_relu_grad = _fn("dsc_model_set_relu_grad", None, _P, c_int)
model_relu_grad = _fn("dsc_model_relu_grad", c_int, _P)
model_set_input_names = _fn(
    "dsc_model_set_input_names", c_int, _P, POINTER(c_char_p)
)
model_input_name = _fn("dsc_model_input_name", c_char_p, _P, c_size_t)
model_set_target = _fn("dsc_model_set_target", c_int, _P, c_char_p)
model_target = _fn("dsc_model_target", c_char_p, _P)
model_set_classes = _fn(
    "dsc_model_set_classes", c_int, _P, POINTER(c_char_p), c_size_t
)
model_classes = _fn("dsc_model_classes", c_size_t, _P)
model_class_label = _fn("dsc_model_class_label", c_char_p, _P, c_size_t)
model_fit_standardization = _fn(
    "dsc_model_fit_standardization", c_int, _P, _P, c_int
)
model_input_mean = _fn("dsc_model_input_mean", _FP, _P)
model_input_std = _fn("dsc_model_input_std", _FP, _P)
model_target_mean = _fn("dsc_model_target_mean", _FP, _P)
model_target_std = _fn("dsc_model_target_std", _FP, _P)
model_set_summary = _fn("dsc_model_set_summary", None, _P, POINTER(ModelSummary))
model_get_summary = _fn("dsc_model_get_summary", POINTER(ModelSummary), _P)
model_save = _fn("dsc_model_save", c_int, _P, c_char_p)
model_load = _fn("dsc_model_load", c_int, c_char_p, _PP)
model_load_limits = _fn("dsc_model_load_limits", c_int, c_char_p, POINTER(Limits), _PP)
model_load_memory = _fn(
    "dsc_model_load_memory", c_int, c_char_p, c_char_p, c_size_t, _PP
)
model_save_memory = _fn(
    "dsc_model_save_memory", c_int, _P, _PP, POINTER(c_size_t)
)
buffer_free = _fn("dsc_buffer_free", None, c_void_p)
model_clone = _fn("dsc_model_clone", c_int, _P, _PP)
model_predict = _fn("dsc_model_predict", c_int, _P, _FP, c_size_t, _FP)
model_explain = _fn(
    "dsc_model_explain",
    c_int,
    _P,
    _P,
    c_int,
    c_char_p,
    c_int,
    POINTER(c_void_p),
    POINTER(c_double),
)

train_params_init = _fn("dsc_train_params_init", None, POINTER(TrainParams))
train = _fn(
    "dsc_train", c_int, _P, _P, POINTER(TrainParams), POINTER(TrainResult)
)
checkpoint_save = _fn(
    "dsc_checkpoint_save", c_int, _P, POINTER(TrainState), c_char_p
)
checkpoint_load = _fn(
    "dsc_checkpoint_load", c_int, c_char_p, _PP, POINTER(TrainState)
)
train_state_free = _fn("dsc_train_state_free", None, POINTER(TrainState))
evaluate_loss = _fn("dsc_evaluate_loss", c_int, _P, _P, c_int, POINTER(c_double))
model_evaluate = _fn(
    "dsc_model_evaluate", c_int, _P, _P, c_int, POINTER(Metrics)
)
metrics_free = _fn("dsc_metrics_free", None, POINTER(Metrics))


def text(b: Optional[bytes]) -> Optional[str]:
    """A C string from the library as str (None stays None)."""
    return None if b is None else b.decode("utf-8", "replace")
