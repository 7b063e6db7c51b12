"""PyTorch sources for the :class:`~translate.runtime.inference.Translator`: a generator module,
a training run or checkpoint, or an official reference weight file, opened the way export would
open it (same network, same metadata), and run by :class:`TorchBackend`.

The runtime never imports torch; it hands such sources here (:func:`open_source`), so a plain
install converts ONNX files, and one with the ``[train]`` extra also runs unexported checkpoints.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ..runtime.backends import DEVICES, ModelLoadError, _check_choice, _check_threads
from ..runtime.metadata import ModelMetadata
from .onnx import complete_metadata, load_source


class TorchBackend:
    """A PyTorch generator in eval mode (training runs and checkpoints not exported yet)."""

    name = "torch"

    def __init__(self, net, *, threads: int | None = None, device: str = "auto"):
        _check_choice(device, DEVICES, "device")
        _check_threads(threads)
        if device == "cuda" and not torch.cuda.is_available():
            raise ModelLoadError("device='cuda' requested but PyTorch sees no CUDA device")
        if device == "auto":
            device = "cuda" if torch.cuda.is_available() else "cpu"
        if threads:
            torch.set_num_threads(threads)  # PyTorch has only a process-wide setting
        self.device = device
        self.net = net.to(device).eval()
        self.input_channels = getattr(net, "input_nc", None)

    def run(self, x: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            y = self.net(
                torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)).to(self.device)
            )
        return y.float().cpu().numpy()


def open_source(
    model: torch.nn.Module | str | Path,
    direction: str | None = None,
    *,
    threads: int | None = None,
    device: str = "auto",
) -> tuple[TorchBackend, ModelMetadata]:
    """The backend and metadata for a generator module or a file/folder that holds one."""
    if isinstance(model, torch.nn.Module):
        cfg = getattr(model, "config", None)
        if cfg is None:
            raise ValueError(
                "a PyTorch generator needs its .config (build it with "
                "translate.gan.nets.create_generator)"
            )
        net = model
        metadata = complete_metadata(net, ModelMetadata(description=f"PyTorch {cfg.arch}"))
    else:
        net, metadata = load_source(Path(model), direction=direction)
        metadata = complete_metadata(net, metadata)
    return TorchBackend(net.eval(), threads=threads, device=device), metadata
