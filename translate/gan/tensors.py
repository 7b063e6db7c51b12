"""Images as the networks see them: float32 CHW tensors in [-1, 1]. The runtime's numpy twin is
:func:`translate.runtime.images.to_array`."""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image

from ..runtime.images import to_mode


def to_tensor(img: Image.Image, channels: int = 3) -> torch.Tensor:
    """PIL image -> float32 CHW tensor in [-1, 1] (the networks' value range)."""
    arr = np.asarray(to_mode(img, channels), dtype=np.float32)
    if arr.ndim == 2:
        arr = arr[:, :, None]
    return torch.from_numpy(arr.transpose(2, 0, 1).copy()).div_(127.5).sub_(1.0)
