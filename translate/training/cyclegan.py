"""CycleGAN (Zhu et al. 2017): unpaired translation with two generators and cycle consistency.

G_A maps A -> B and G_B maps B -> A; D_A judges B images (real vs G_A's), D_B judges A images.
Without pairs, nothing ties an output to its input except the cycle: G_B(G_A(a)) should give a back,
and G_A(G_B(b)) b (L1, weights lambda_A and lambda_B). The identity term (G_A(b) ~ b, weighted
lambda_identity * lambda_B) keeps colours from drifting. Discriminators see fakes through a
history pool of 50.

One iteration, in the reference's order: all generator forwards, a G step (both generators, one
optimiser) through the frozen discriminators, then a D step (both discriminators, one optimiser).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ..errors import ConfigError
from ..eval.metrics import l1
from ..gan.adversarial import GANConfig
from ..gan.nets import DiscriminatorConfig, GeneratorConfig, create_discriminator, create_generator
from .config import TrainConfig
from .trainer import Dist, GeneratorSpec, TranslationModel, register_trainer


@register_trainer("cyclegan")
class CycleGAN(TranslationModel):
    title = "CycleGAN"
    paired = False
    loss_keys = ("D_A", "G_A", "cycle_A", "idt_A", "D_B", "G_B", "cycle_B", "idt_B")
    plateau_key = "cycle"

    @classmethod
    def default_config(cls) -> TrainConfig:
        """The reference's settings: ResNet 9 blocks, instance norm, LSGAN, cycle 10, identity
        0.5, pool 50."""
        return TrainConfig(
            model=cls.name,
            generator=GeneratorConfig(arch="resnet_9blocks", norm="instance", dropout=False),
            discriminator=DiscriminatorConfig(arch="basic", norm="instance"),
            gan=GANConfig(objective="lsgan", pool_size=50),
        )

    @classmethod
    def generators(cls, cfg: TrainConfig) -> dict[str, GeneratorSpec]:
        """G_A (``cfg.generator``) and G_B, the same network with the channels swapped."""
        g = cfg.generator
        g_b = GeneratorConfig.from_dict(
            {**g.to_dict(), "input_nc": g.output_nc, "output_nc": g.input_nc}
        )
        a, b = cfg.domain_a, cfg.domain_b
        return {"AtoB": GeneratorSpec("G_A", g, a, b), "BtoA": GeneratorSpec("G_B", g_b, b, a)}

    @classmethod
    def check_config(cls, cfg: TrainConfig) -> None:
        g = cfg.generator
        if cfg.loss.lambda_identity > 0 and g.input_nc != g.output_nc:
            raise ConfigError(
                f"the identity loss needs as many input as output channels (got {g.input_nc} "
                f"and {g.output_nc}); set --lambda-identity 0"
            )

    def __init__(self, cfg: TrainConfig, device: torch.device, dist: Dist | None = None):
        super().__init__(cfg, device, dist)
        g = cfg.generator
        init = {"init": cfg.init, "init_gain": cfg.init_gain}
        d = cfg.discriminator.to_dict()
        for spec in self.generators(cfg).values():  # G_A, then G_B
            self.add_net(spec.net, create_generator(spec.config, **init))
        self.add_net(
            "D_A",
            create_discriminator(
                DiscriminatorConfig.from_dict({**d, "input_nc": g.output_nc}), **init
            ),
        )
        self.add_net(
            "D_B",
            create_discriminator(
                DiscriminatorConfig.from_dict({**d, "input_nc": g.input_nc}), **init
            ),
        )
        self.add_optimizer("G", "G_A", "G_B")
        self.add_optimizer("D", "D_A", "D_B")
        self.add_pool("fake_A", 0)
        self.add_pool("fake_B", 1)

    def train_step(self, batch: dict) -> dict[str, float]:
        core, cfg = self.core, self.cfg.loss
        n = self.train_nets
        real_a, real_b = self.to_device(batch, "A", "B")
        g_steps = core.generator_turn()

        with core.autocast(), torch.set_grad_enabled(g_steps):
            fake_b = n["G_A"](real_a)
            fake_a = n["G_B"](real_b)
        logs: dict[str, float] = {}

        if g_steps:
            with core.frozen(self.nets["D_A"], self.nets["D_B"]):
                with core.autocast():
                    rec_a = n["G_B"](fake_b)
                    rec_b = n["G_A"](fake_a)
                    cycle_a = F.l1_loss(rec_a, real_a).float() * cfg.lambda_a
                    cycle_b = F.l1_loss(rec_b, real_b).float() * cfg.lambda_b
                    idt_a = idt_b = torch.zeros((), device=self.device)
                    if cfg.lambda_identity > 0:
                        idt_a = F.l1_loss(n["G_A"](real_b), real_b).float()
                        idt_b = F.l1_loss(n["G_B"](real_a), real_a).float()
                        idt_a = idt_a * cfg.lambda_b * cfg.lambda_identity
                        idt_b = idt_b * cfg.lambda_a * cfg.lambda_identity
                gan_a = core.generator_loss(self.frozen_nets["D_A"], fake_b)
                gan_b = core.generator_loss(self.frozen_nets["D_B"], fake_a)
                loss_g = gan_a + gan_b + cycle_a + cycle_b + idt_a + idt_b
            core.step(loss_g, self.optimizers["G"], [self.nets["G_A"], self.nets["G_B"]])
            logs.update(
                G_A=gan_a.item(),
                G_B=gan_b.item(),
                cycle_A=cycle_a.item(),
                cycle_B=cycle_b.item(),
                idt_A=idt_a.item(),
                idt_B=idt_b.item(),
                cycle=cycle_a.item() + cycle_b.item(),
            )

        loss_da, logs_a = core.discriminator_loss(
            n["D_A"], real_b, self.pools["fake_B"].query(fake_b)
        )
        loss_db, logs_b = core.discriminator_loss(
            n["D_B"], real_a, self.pools["fake_A"].query(fake_a)
        )
        core.step(
            loss_da + loss_db,
            self.optimizers["D"],
            [self.nets["D_A"], self.nets["D_B"]],
            discriminator=True,
        )
        for side, d_logs in (("A", logs_a), ("B", logs_b)):
            for k, v in d_logs.items():  # D -> D_A, D_real -> D_A_real, GP -> GP_A
                logs[k.replace("D", f"D_{side}", 1) if k.startswith("D") else f"{k}_{side}"] = v
        return logs

    def heldout_losses(self, batch: dict) -> dict[str, float]:
        """Cycle reconstruction L1 of held-out images (unpaired data has no targets)."""
        _, (real_a, _, rec_a, real_b, _, rec_b) = self.visuals(batch)
        return {"val_cycle_A": l1(rec_a, real_a), "val_cycle_B": l1(rec_b, real_b)}

    @torch.no_grad()
    def visuals(self, batch: dict) -> tuple[list[str], list[torch.Tensor]]:
        real_a, real_b = self.to_device(batch, "A", "B")
        G_A, G_B = self.nets["G_A"], self.nets["G_B"]
        G_A.eval(), G_B.eval()
        try:
            fake_b, fake_a = G_A(real_a), G_B(real_b)
            rec_a, rec_b = G_B(fake_b), G_A(fake_a)
        finally:
            G_A.train(), G_B.train()
        a, b = self.cfg.domain_a, self.cfg.domain_b
        titles = [f"real {a}", f"-> {b}", f"-> {a} again", f"real {b}", f"-> {a}", f"-> {b} again"]
        return titles, [real_a, fake_b, rec_a, real_b, fake_a, rec_b]
