"""Where and in what precision the BERT encoder runs, and running it over token ids.

Shared by training and serving. Imports torch: only Celery workers and management
commands use this.
"""

from __future__ import annotations

import contextlib
import os
import time
import warnings
from collections.abc import Iterator, Sequence

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402

PRECISIONS = ("auto", "fp32", "bf16")
# How a trained encoder can be served beyond its training precision: int8 dynamic
# quantisation, on the CPU only (PyTorch's quantised kernels are CPU kernels).
INT8 = "int8"
CPU = torch.device("cpu")
DEVICES = ("auto", "cpu", "cuda")


def pick_device(setting: str | None = None) -> torch.device:
    """The device named by `setting`, else by CTIR_DEVICE (settings.py checks its spelling;
    each worker reads its own environment, so one installation can train on a GPU host and
    pre-label on CPU hosts). "auto" (the default) takes the GPU when one is visible; "cpu"
    never does; "cuda" (or "cuda:N") refuses to start without one, rather than training
    for hours on the CPU of a host that was meant to have a GPU."""
    choice = (setting or os.environ.get("CTIR_DEVICE") or "auto").strip().lower()
    kind = choice.split(":", 1)[0]
    if kind not in DEVICES or (":" in choice and (kind != "cuda" or
                                                  not choice.split(":", 1)[1].isdigit())):
        raise ValueError(f"CTIR_DEVICE={choice!r}: use auto, cpu, cuda or cuda:N")
    if kind == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if kind == "cuda" and not torch.cuda.is_available():
        raise RuntimeError(
            f"CTIR_DEVICE={choice} but this worker sees no CUDA GPU (check the driver and "
            "CUDA_VISIBLE_DEVICES), or set CTIR_DEVICE=auto to fall back to the CPU")
    return torch.device(choice)


def _cpu_has_native_bf16() -> bool:
    # Emulated bf16 (AVX512 without the bf16 extension) is slower than fp32, so only
    # use it where the CPU has bf16 dot-product instructions.
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="ignore") as fh:
            for line in fh:
                if line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
                    return bool(flags & {"avx512_bf16", "amx_bf16"})
    except OSError:
        pass
    return False


def resolve_precision(precision: str, device: torch.device) -> str:
    """Precision "auto" means bf16 autocast where the hardware runs it natively, else fp32."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
    if precision != "auto":
        return precision
    if device.type == "cuda":
        return "bf16" if torch.cuda.is_bf16_supported() else "fp32"
    return "bf16" if _cpu_has_native_bf16() else "fp32"


def quantise_int8(model):
    """The encoder with every Linear layer dynamically quantised to int8 (weights int8,
    activations quantised per batch), on the CPU, in eval mode; the model passed in is
    left as it is.

    Deterministic: the same fp32 weights always give the same int8 model, so a folder that
    saves the fp32 weights and quantises them on loading serves exactly what training
    evaluated. About twice the encoder's CPU throughput (docs/benchmarks.md, issue 20).
    """
    import copy

    model = copy.deepcopy(model).to("cpu").eval()
    with warnings.catch_warnings():
        # PyTorch points eager quantisation at torchao; it still works and torchao is not
        # a dependency.
        warnings.simplefilter("ignore")
        return torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear},
                                                      dtype=torch.qint8, inplace=True)


def for_inference(model, precision: str, *, copy: bool):
    """The model as it is served: in bf16 all weights are cast once; in int8 its Linear
    layers are quantised (quantise_int8, always a new model on the CPU).

    Pure bf16 weights run faster than autocast on CPU (no casting of activations back and
    forth). Training evaluates on a bf16 or int8 copy, so its metrics describe the served
    model.
    """
    if precision == INT8:
        return quantise_int8(model)
    if precision != "bf16":
        return model
    if copy:
        import copy as copy_module

        model = copy_module.deepcopy(model)
    return model.to(torch.bfloat16)


def autocast(device: torch.device, precision: str):
    if precision == "bf16":
        return torch.autocast(device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


@contextlib.contextmanager
def quiet_transformers() -> Iterator[None]:
    """Silence the load report and progress bar printed by from_pretrained."""
    from transformers.utils import logging as hf_logging

    verbosity = hf_logging.get_verbosity()
    bar = hf_logging.is_progress_bar_enabled()
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        hf_logging.set_verbosity(verbosity)
        if bar:
            hf_logging.enable_progress_bar()


def pad_batch(
    sequences: Sequence[Sequence[int]], pad_id: int, device: torch.device
) -> tuple[torch.Tensor, torch.Tensor]:
    """Pad to the longest sequence of this batch (dynamic padding)."""
    width = max(len(s) for s in sequences)
    ids = torch.full((len(sequences), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(sequences), width), dtype=torch.long)
    for row, seq in enumerate(sequences):
        ids[row, : len(seq)] = torch.as_tensor(seq, dtype=torch.long)
        mask[row, : len(seq)] = 1
    return ids.to(device), mask.to(device)


def predict_logits(
    model,
    encoded: Sequence[Sequence[int]],
    *,
    pad_id: int,
    device: torch.device,
    precision: str,
    batch_size: int = 64,
) -> tuple[np.ndarray, np.ndarray]:
    """fp32 logits (n, labels) and per-report seconds, in the input order.

    Reports are batched longest first so each batch pads little; the model is put in eval
    mode (the caller restores train mode if it needs to). A model whose weights are already
    bf16 (see ``for_inference``) runs as it is; an fp32 one runs under bf16 autocast when
    ``precision`` is "bf16".
    """
    n = len(encoded)
    logits = np.zeros((n, model.config.num_labels), dtype=np.float32)
    seconds = np.zeros(n, dtype=np.float64)
    if n == 0:
        return logits, seconds
    model.eval()
    order = sorted(range(n), key=lambda i: len(encoded[i]), reverse=True)
    if next(model.parameters()).dtype != torch.float32:
        precision = "fp32"  # already cast: nothing for autocast to do
    with torch.inference_mode(), autocast(device, precision):
        for start in range(0, n, batch_size):
            idx = order[start : start + batch_size]
            began = time.perf_counter()
            ids, mask = pad_batch([encoded[i] for i in idx], pad_id, device)
            out = model(input_ids=ids, attention_mask=mask).logits.float().cpu().numpy()
            elapsed = time.perf_counter() - began
            logits[idx] = out
            seconds[idx] = elapsed / len(idx)
    return logits, seconds
