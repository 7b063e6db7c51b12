"""pix2pix (Isola et al. 2017): paired translation with a conditional GAN plus L1.

G maps the input image x to y' = G(x). The discriminator judges (x, y) pairs: it sees the input
concatenated with either the real target or G's output, so it learns what a plausible output *for
this input* looks like (a conditional 70x70 PatchGAN). G minimises the adversarial loss plus
lambda * |y - y'|_1: L1 gets the low frequencies right, the GAN term makes the result sharp.

One iteration, as in the reference: G forward, then a D step on the detached output, then a G step
through the frozen D. With ``lambda_gan = 0`` there is no D step and G learns from L1 alone: the
paper's blurry L1-only baseline.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ..eval.metrics import l1
from ..gan.adversarial import GANConfig
from ..gan.nets import DiscriminatorConfig, GeneratorConfig, create_discriminator, create_generator
from .config import TrainConfig
from .trainer import Dist, GeneratorSpec, TranslationModel, register_trainer


@register_trainer("pix2pix")
class Pix2Pix(TranslationModel):
    paired = True
    loss_keys = ("G_GAN", "G_L1", "D", "D_real", "D_fake")
    plateau_key = "G_L1"

    @classmethod
    def default_config(cls) -> TrainConfig:
        """The reference's facades settings: U-Net 256 with dropout, batch norm, vanilla GAN,
        lambda_L1 100, no pool."""
        return TrainConfig(
            model=cls.name,
            generator=GeneratorConfig(arch="unet_256", norm="batch", dropout=True),
            discriminator=DiscriminatorConfig(arch="basic", norm="batch"),
            gan=GANConfig(objective="vanilla", pool_size=0),
        )

    @classmethod
    def generators(cls, cfg: TrainConfig) -> dict[str, GeneratorSpec]:
        """One generator, G, for the direction the data names (``data.direction``)."""
        src, dst = cfg.domain_a, cfg.domain_b
        if cfg.data.direction == "BtoA":
            src, dst = dst, src
        return {cfg.data.direction: GeneratorSpec("G", cfg.generator, src, dst)}

    def __init__(self, cfg: TrainConfig, device: torch.device, dist: Dist | None = None):
        super().__init__(cfg, device, dist)
        g = cfg.generator
        d_cfg = DiscriminatorConfig.from_dict(
            {**cfg.discriminator.to_dict(), "input_nc": g.input_nc + g.output_nc}
        )
        self.add_net("G", create_generator(g, init=cfg.init, init_gain=cfg.init_gain))
        self.add_net("D", create_discriminator(d_cfg, init=cfg.init, init_gain=cfg.init_gain))
        self.add_optimizer("G", "G")
        self.add_optimizer("D", "D")
        self.add_pool("AB", 0)
        self.swap = cfg.data.direction == "BtoA"

    def inputs(self, batch: dict) -> tuple[torch.Tensor, torch.Tensor]:
        """(generator input, target) according to the direction."""
        a, b = self.to_device(batch, "A", "B")
        return (b, a) if self.swap else (a, b)

    def train_step(self, batch: dict) -> dict[str, float]:
        core, G, D = self.core, self.train_nets["G"], self.train_nets["D"]
        real_in, real_out = self.inputs(batch)
        if self.cfg.loss.lambda_gan == 0:
            return self.l1_only_step(real_in, real_out)
        g_steps = self.generator_steps_now()

        with core.autocast(), torch.set_grad_enabled(g_steps):
            fake_out = G(real_in)
        fake_pair = torch.cat([real_in, fake_out], 1)
        real_pair = torch.cat([real_in, real_out], 1)

        # D: real pairs -> real, generated pairs -> fake (the core detaches the fake).
        loss_d, logs = core.discriminator_loss(D, real_pair, self.pools["AB"].query(fake_pair))
        core.step(loss_d, self.optimizers["D"], [self.nets["D"]], discriminator=True)

        if g_steps:  # G: fool the frozen D, and stay close to the target in L1
            with core.frozen(self.nets["D"]):
                loss_gan = core.generator_loss(self.frozen_nets["D"], fake_pair)
                with core.autocast():
                    loss_l1 = F.l1_loss(fake_out, real_out).float()
                loss_g = self.cfg.loss.lambda_gan * loss_gan + self.cfg.loss.lambda_l1 * loss_l1
            core.step(loss_g, self.optimizers["G"], [self.nets["G"]])
            logs.update(G_GAN=loss_gan.item(), G_L1=loss_l1.item())
        return logs

    def l1_only_step(self, real_in: torch.Tensor, real_out: torch.Tensor) -> dict[str, float]:
        with self.core.autocast():
            loss_l1 = F.l1_loss(self.train_nets["G"](real_in), real_out).float()
        self.core.step(self.cfg.loss.lambda_l1 * loss_l1, self.optimizers["G"], [self.nets["G"]])
        return {"G_L1": loss_l1.item()}

    def heldout_losses(self, batch: dict) -> dict[str, float]:
        _, (_, fake, target) = self.visuals(batch)
        return {"val_L1": l1(fake, target)}

    @torch.no_grad()
    def visuals(self, batch: dict) -> tuple[list[str], list[torch.Tensor]]:
        real_in, real_out = self.inputs(batch)
        G = self.nets["G"]
        G.eval()
        try:
            fake = G(real_in)
        finally:
            G.train()
        titles = [
            f"input ({self.cfg.source_domain})",
            "output",
            f"target ({self.cfg.target_domain})",
        ]
        return titles, [real_in, fake, real_out]
