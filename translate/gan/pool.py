"""History buffer of generated images (Shrivastava et al. 2017), as CycleGAN uses it.

The discriminator sees, for each new fake, with probability p an older fake from the buffer
instead (the new one takes its place), which damps oscillation. The pool draws from its own
seeded generator and saves that state, so a resumed run continues with the same draws.
"""

from __future__ import annotations

import torch


class ImagePool:
    def __init__(self, size: int = 50, p: float = 0.5, seed: int = 0):
        if size < 0:
            raise ValueError(f"pool size must be >= 0, got {size}")
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"pool swap probability must be in [0, 1], got {p}")
        self.size, self.p = size, p
        self.images: list[torch.Tensor] = []
        self.rng = torch.Generator().manual_seed(seed)

    def query(self, images: torch.Tensor) -> torch.Tensor:
        """Return a batch of the same shape: new images while the pool fills, afterwards each
        image is swapped for a stored one with probability p."""
        if self.size == 0:
            return images
        out = []
        for image in images.detach():
            image = image.unsqueeze(0)
            if len(self.images) < self.size:
                self.images.append(image.clone())
                out.append(image)
            elif torch.rand((), generator=self.rng).item() < self.p:
                i = int(torch.randint(len(self.images), (), generator=self.rng))
                out.append(self.images[i].clone())
                self.images[i] = image.clone()
            else:
                out.append(image)
        return torch.cat(out, 0)

    def state_dict(self) -> dict[str, torch.Tensor]:
        state = {"rng": self.rng.get_state()}
        if self.images:
            state["images"] = torch.cat([im.cpu() for im in self.images], 0)
        return state

    def load_state_dict(self, state: dict[str, torch.Tensor], device=None) -> None:
        self.rng.set_state(state["rng"])
        images = state.get("images")
        self.images = [] if images is None else [im.unsqueeze(0).to(device) for im in images]

    def __len__(self) -> int:
        return len(self.images)
