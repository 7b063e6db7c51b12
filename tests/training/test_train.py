"""Both trainers end to end on tiny data: run folder, exact resume, reproducibility, schedule,
``translate test`` and the generator loader that export and inference use."""

from __future__ import annotations

import dataclasses
import json
from operator import attrgetter
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from tiny_data import TINY_FLAGS, aligned, one_thread, unpaired  # noqa: F401  (fixture)

from translate.cli import build_parser, main
from translate.cli.train import given_flags
from translate.gan import adversarial
from translate.gan.adversarial import GANConfig
from translate.training import checkpoint as ckpt
from translate.training.config import ScheduleConfig, TrainConfig, default_config
from translate.training.loop import train
from translate.training.options import flag_specs, to_overrides
from translate.training.presets import build_config, merge_overrides
from translate.training.report import read_log
from translate.training.schedule import LRSchedule

# Tiny networks and images: a step takes milliseconds.
TINY = [*TINY_FLAGS, "--log-every", "1", "--sample-count", "2"]

pytestmark = pytest.mark.usefixtures("one_thread")


def tiny_config(model: str, root: Path, run_dir: Path, **over) -> TrainConfig:
    d = {
        "data": {"root": str(root), "load_size": 36, "crop_size": 32, "workers": 0},
        "generator": {"arch": "resnet_6blocks", "ngf": 4},
        "discriminator": {"ndf": 4},
        "log_every": 1,
        "sample_every": 0,
        "save_every": 0,
        "save_epoch_every": 0,
        "run_dir": str(run_dir),
        **over,
    }
    return build_config(model, None, d)


def weights(run_dir: Path) -> dict[str, torch.Tensor]:
    found = ckpt.latest_checkpoint(run_dir)
    return {
        f"{p.stem}.{k}": v
        for p in sorted(found.glob("*.safetensors"))
        for k, v in load_file(p).items()
    }


def test_pix2pix_end_to_end(tmp_path, capsys):
    root = aligned(tmp_path / "data", n=3, splits=("train", "val", "test"))
    run = tmp_path / "run"
    args = [
        "train",
        "pix2pix",
        "--data",
        str(root),
        "--out",
        str(run),
        *TINY,
        "--max-steps",
        "5",
        "--sample-every",
        "2",
        "--direction",
        "BtoA",
        "--domain-a",
        "photo",
        "--domain-b",
        "labels",
    ]
    assert main(args) == 0
    for name in ("config.json", "log.jsonl", "losses.png", "index.html", "command.txt"):
        assert (run / name).is_file(), name
    cfg = TrainConfig.load(run)
    assert cfg.model == "pix2pix" and cfg.data.direction == "BtoA" and cfg.generator.ngf == 4
    log = read_log(run / "log.jsonl")
    assert [r["step"] for r in log if "D" in r] == [1, 2, 3, 4, 5]
    assert all(r["G_L1"] > 0 and r["D"] > 0 for r in log if "D" in r)
    # With each sample sheet, the L1 on held-out (val) images.
    assert [r["step"] for r in log if "val_L1" in r] == [2, 4, 5]
    samples = sorted((run / "samples").glob("*.png"))
    assert [s.name for s in samples] == [
        "step_00000002.png",
        "step_00000004.png",
        "step_00000005.png",
    ]
    (run / "index.html").unlink()
    assert main(["report", str(run)]) == 0  # redraws curves and page on demand
    page = (run / "index.html").read_text(encoding="utf-8")
    assert "losses.png" in page and "samples/step_00000004.png" in page
    latest = ckpt.latest_checkpoint(run)
    assert latest.name == "step_00000005"
    assert {p.name for p in latest.iterdir()} == {
        "G.safetensors",
        "D.safetensors",
        "state.pt",
        "meta.json",
    }

    G, info = ckpt.load_generator(run)
    assert not G.training and info.model_type == "pix2pix" and info.iterations == 5
    assert (info.direction, info.source_domain, info.target_domain) == ("BtoA", "labels", "photo")
    assert info.crop_size == 32 and info.run_dir == run and info.config.arch == "resnet_6blocks"
    with pytest.raises(ckpt.CheckpointError, match="trained BtoA"):
        ckpt.load_generator(run, "AtoB")
    # A checkpoint folder or a file inside it works too.
    assert ckpt.load_generator(latest / "G.safetensors")[1].iterations == 5

    assert main(["test", str(run), "--data", str(root), "--batch-size", "2", "--quiet"]) == 0
    out = run / "test_data_step_00000005"
    assert len(list((out / "output").glob("*.png"))) == 3
    assert (out / "target" / "façade 1.png").is_file() and (
        out / "input" / "façade 1.png"
    ).is_file()
    assert (out / "index.html").read_text(encoding="utf-8").count("<tr>") == 4  # header + 3


def test_cyclegan_end_to_end(tmp_path):
    root = unpaired(tmp_path / "data", n=3, splits=("train", "test"))
    run = tmp_path / "run"
    args = [
        "train",
        "cyclegan",
        "--data",
        str(root),
        "--out",
        str(run),
        *TINY,
        "--max-steps",
        "4",
        "--sample-every",
        "4",
        "--domain-a",
        "summer",
        "--domain-b",
        "winter",
    ]
    assert main(args) == 0
    log = read_log(run / "log.jsonl")
    assert {"D_A", "G_A", "cycle_A", "idt_A", "D_B", "G_B", "cycle_B", "idt_B"} <= set(log[-2])
    assert {"val_cycle_A", "val_cycle_B"} <= set(log[-1])
    assert {p.stem for p in ckpt.latest_checkpoint(run).glob("*.safetensors")} == {
        "G_A",
        "G_B",
        "D_A",
        "D_B",
    }
    state = ckpt.load_state(ckpt.latest_checkpoint(run))
    assert state["model"]["pools"]["fake_A"]["images"].shape[0] == 4  # pool filled by 4 steps
    G_A, info_a = ckpt.load_generator(run)
    G_B, info_b = ckpt.load_generator(run, "BtoA")
    assert (info_a.source_domain, info_a.target_domain) == ("summer", "winter")
    assert (info_b.source_domain, info_b.target_domain) == ("winter", "summer")
    sd = load_file(ckpt.latest_checkpoint(run) / "G_B.safetensors")
    assert all(torch.equal(v, sd[k]) for k, v in G_B.state_dict().items())

    out = tmp_path / "results"
    assert main(["test", str(run), "--data", str(root), "--out", str(out), "--quiet"]) == 0
    assert len(list((out / "AtoB" / "output").glob("*.png"))) == 3
    assert len(list((out / "BtoA" / "output").glob("*.png"))) == 4


AUGMENTED = {"diffaugment": "color,translation,cutout", "diffaugment_p": 0.5}


@pytest.mark.parametrize(
    ("model", "gan"),
    [
        ("pix2pix", {}),
        ("cyclegan", {}),
        ("pix2pix", {"precision": "bf16"}),
        ("pix2pix", AUGMENTED),
        ("cyclegan", {**AUGMENTED, "ada_target": 0.6}),
    ],
    ids=["pix2pix", "cyclegan", "pix2pix-bf16", "pix2pix-diffaugment", "cyclegan-ada"],
)
def test_resume_continues_exactly(tmp_path, model, gan):
    """4 steps in one go == 2 steps, resume, 2 steps: bitwise-identical weights and losses.
    Three images per epoch, so the resume lands mid-epoch and the lr changes in epoch 2."""
    # Three steps per epoch (unpaired: the larger side, B, has n + 1 images).
    root = (
        aligned(tmp_path / "data", n=3) if model == "pix2pix" else unpaired(tmp_path / "data", n=2)
    )
    sched = {"n_epochs": 1, "n_epochs_decay": 1}
    straight = tiny_config(
        model, root, tmp_path / "straight", schedule={**sched, "max_steps": 4}, gan=gan
    )
    train(straight, progress=False)
    first = tiny_config(
        model, root, tmp_path / "resumed", schedule={**sched, "max_steps": 2}, gan=gan
    )
    train(first, progress=False)
    assert ckpt.latest_checkpoint(tmp_path / "resumed").name == "step_00000002"
    assert (
        main(["train", "--resume", str(tmp_path / "resumed"), "--max-steps", "4", "--quiet"]) == 0
    )
    a, b = weights(tmp_path / "straight"), weights(tmp_path / "resumed")
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a), [k for k in a if not torch.equal(a[k], b[k])]
    log_a = read_log(tmp_path / "straight" / "log.jsonl")
    log_b = read_log(tmp_path / "resumed" / "log.jsonl")
    strip = ("time", "it_s")
    assert [{k: v for k, v in r.items() if k not in strip} for r in log_a] == [
        {k: v for k, v in r.items() if k not in strip} for r in log_b
    ]
    assert log_b[-1]["lr"] == pytest.approx(1e-4)  # epoch 2 of 1 + 1: decayed, not zero


def test_spectral_norm_discriminator_resumes_exactly(tmp_path):
    """``--spectral-norm``: D's power-iteration vectors are part of its checkpoint, so 2 steps,
    resume, 2 steps == 4 steps, bit for bit."""
    root = aligned(tmp_path / "data", n=3)
    sched, disc = {"n_epochs": 1, "n_epochs_decay": 1}, {"ndf": 4, "spectral_norm": True}
    for name, steps in (("straight", 4), ("resumed", 2)):
        cfg = tiny_config(
            "pix2pix", root, tmp_path / name, schedule={**sched, "max_steps": steps},
            discriminator=disc,
        )  # fmt: skip
        train(cfg, progress=False)
    assert (
        main(["train", "--resume", str(tmp_path / "resumed"), "--max-steps", "4", "--quiet"]) == 0
    )
    a, b = weights(tmp_path / "straight"), weights(tmp_path / "resumed")
    assert any("parametrizations.weight.0._u" in k for k in a)  # D was spectrally normalised
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a), [k for k in a if not torch.equal(a[k], b[k])]
    strip = ("time", "it_s")
    log_a, log_b = (read_log(tmp_path / n / "log.jsonl") for n in ("straight", "resumed"))
    assert [{k: v for k, v in r.items() if k not in strip} for r in log_a] == [
        {k: v for k, v in r.items() if k not in strip} for r in log_b
    ]


def test_same_seed_same_losses_other_seed_other_losses(tmp_path):
    root = aligned(tmp_path / "data", n=3)
    runs = {}
    for name, seed in (("a", 7), ("b", 7), ("c", 8)):
        cfg = tiny_config("pix2pix", root, tmp_path / name, seed=seed, schedule={"max_steps": 3})
        train(cfg, progress=False)
        runs[name] = [
            (r["D"], r["G_GAN"], r["G_L1"]) for r in read_log(tmp_path / name / "log.jsonl")
        ]
    assert runs["a"] == runs["b"]
    assert runs["a"] != runs["c"]


def test_linear_schedule_first_and_last_epoch():
    s = LRSchedule(ScheduleConfig(n_epochs=100, n_epochs_decay=100), 2e-4)
    assert s.lr(0) == 2e-4 and s.lr(99) == 2e-4
    assert s.lr(100) == pytest.approx(2e-4 * 100 / 101)
    assert s.lr(199) == pytest.approx(2e-4 / 101)  # the last epoch still trains (reference: 0)
    assert all(s.lr(e) > s.lr(e + 1) > 0 for e in range(99, 199))
    cos = LRSchedule(ScheduleConfig(n_epochs=5, n_epochs_decay=5, policy="cosine"), 2e-4)
    assert cos.lr(0) == 2e-4 and 0 < cos.lr(9) < 1e-5
    step = LRSchedule(ScheduleConfig(policy="step", step_epochs=3, step_gamma=0.1), 2e-4)
    assert [step.factor(e) for e in (0, 2, 3, 6)] == pytest.approx([1, 1, 0.1, 0.01])
    plateau = LRSchedule(ScheduleConfig(policy="plateau"), 2e-4)
    for _ in range(7):
        plateau.end_epoch(1.0)
    assert plateau.factor(0) == pytest.approx(0.2)


def test_training_uses_the_schedule_epoch_by_epoch(tmp_path):
    root = aligned(tmp_path / "data", n=2)
    cfg = tiny_config(
        "pix2pix",
        root,
        tmp_path / "run",
        batch_size=2,
        schedule={"n_epochs": 1, "n_epochs_decay": 2},
    )
    result = train(cfg, progress=False)
    assert result.epoch == 3 and result.step == 3
    lrs = [r["lr"] for r in read_log(tmp_path / "run" / "log.jsonl")]
    assert lrs == pytest.approx([2e-4, 2e-4 * 2 / 3, 2e-4 / 3])


def test_resume_refuses_to_change_the_model(tmp_path, capsys):
    root = aligned(tmp_path / "data", n=2)
    run = tmp_path / "run"
    train(tiny_config("pix2pix", root, run, schedule={"max_steps": 1}), progress=False)
    assert main(["train", "--resume", str(run), "--ngf", "8", "--quiet"]) == 2
    assert "cannot change: --ngf (" in capsys.readouterr().err
    assert main(["train", "pix2pix", "--data", str(root), "--out", str(run), "--quiet"]) == 2
    assert "already holds a training run" in capsys.readouterr().err
    # Train longer by raising the budget: continues from step 1.
    assert main(["train", "--resume", str(run), "--max-steps", "2", "--quiet"]) == 0
    assert ckpt.latest_checkpoint(run).name == "step_00000002"
    # The dataset may have moved (a shipped checkpoint on another machine): --data follows it.
    moved = root.rename(tmp_path / "moved")
    args = ["train", "--resume", str(run), "--data", str(moved), "--max-steps", "3", "--quiet"]
    assert main(args) == 0
    assert TrainConfig.load(run).data.root == str(moved)


def test_bad_data_is_a_one_line_error(tmp_path, capsys):
    def train_cli(data: Path, out: str, *extra: str) -> int:
        return main(["train", "pix2pix", "--data", str(data), "--out", str(tmp_path / out), *extra])

    (tmp_path / "empty" / "train").mkdir(parents=True)
    assert train_cli(tmp_path / "empty", "r", "--quiet") == 2
    err = capsys.readouterr().err.strip()
    assert "no images found" in err and len(err.splitlines()) == 1
    root = aligned(tmp_path / "data", n=2)
    (root / "train" / "bad.png").write_bytes(b"garbage")
    assert train_cli(root, "r2", *TINY, "--max-steps", "1") == 2
    assert "bad.png" in capsys.readouterr().err
    assert train_cli(root, "r3", *TINY, "--max-steps", "1", "--skip-bad") == 0
    assert "skipped 1 unreadable" in capsys.readouterr().out
    too_deep = ["--arch", "unet_256", "--crop-size", "32", "--load-size", "36", "--quiet"]
    assert train_cli(root, "r4", *too_deep) == 2
    assert "multiples of 256" in capsys.readouterr().err


def test_presets_and_objective_defaults():
    facades = build_config(None, "facades", {"data": {"root": "x"}})
    assert (facades.model, facades.data.direction, facades.generator.arch) == (
        "pix2pix",
        "BtoA",
        "unet_256",
    )
    assert (facades.generator.norm, facades.generator.dropout, facades.gan.objective) == (
        "batch",
        True,
        "vanilla",
    )
    assert facades.gan.pool_size == 0 and facades.loss.lambda_l1 == 100
    assert (facades.gan.lr, facades.gan.betas) == (2e-4, (0.5, 0.999))
    small = build_config(None, "summer2winter-small", {"data": {"root": "x"}})
    assert (small.model, small.generator.arch, small.generator.ngf, small.data.crop_size) == (
        "cyclegan",
        "resnet_6blocks",
        32,
        128,
    )
    # Choosing another objective brings that objective's own defaults.
    wgan = build_config("pix2pix", None, {"gan": {"objective": "wgan"}})
    assert wgan.gan.n_critic == 5 and wgan.gan.clip_value == 0.01
    assert (wgan.gan.optimizer, wgan.gan.lr) == ("rmsprop", 5e-5)
    with pytest.raises(ValueError, match="is for cyclegan"):
        build_config("pix2pix", "horse2zebra")


def _flag_fields(config, prefix=""):
    """Dotted paths of the config fields whose metadata makes them ``translate train`` flags."""
    for f in dataclasses.fields(config):
        value = getattr(config, f.name)
        if dataclasses.is_dataclass(value):
            yield from _flag_fields(value, f"{prefix}{f.name}.")
        elif "help" in f.metadata:
            yield prefix + f.name


def _another_value(spec, value) -> tuple[list[str], object]:
    """A valid value other than ``value`` for this flag: (argv, the value it gives)."""
    if spec.type is bool:
        return [spec.flag if not value else "--no-" + spec.flag[2:]], not value
    if spec.choices:
        pick = next(c for c in spec.choices if c != value)
        return [spec.flag, str(pick)], pick
    if spec.nargs:
        halves = tuple(v / 2 for v in value)
        return [spec.flag, *map(str, halves)], halves
    if spec.type is str:
        new = "color" if spec.flag == "--diffaugment" else value + "2"  # a valid policy
        return [spec.flag, new], new
    new = (value / 2 if value else 0.5) if spec.type is float else (value or 0) + 1
    return [spec.flag, str(new)], new


def test_every_config_field_with_flag_metadata_has_a_flag_that_sets_it():
    base = default_config("pix2pix")
    specs = flag_specs()
    assert sorted(path for spec in specs for path in spec.paths) == sorted(_flag_fields(base))
    parser = build_parser()
    for spec in specs:
        argv, value = _another_value(spec, attrgetter(spec.paths[0])(base))
        if spec.flag == "--ada-target":  # adapts DiffAugment's probability: needs a policy
            argv += ["--diffaugment", "color"]
        args = parser.parse_args(["train", "pix2pix", *argv])
        cfg = build_config("pix2pix", None, to_overrides(given_flags(args)))
        for path in spec.paths:
            assert attrgetter(path)(cfg) == value, (argv, path)


def test_the_flag_names_scripts_use_set_their_fields():
    argv = "train pix2pix --betas 0.4 0.9 --norm instance --no-flip --netd pixel --gan-mode hinge"
    argv += " --lr-decay-epochs 7 --n-layers-d 4 --lambda-gan 0 --max-steps 7"
    args = build_parser().parse_args(argv.split())
    over = to_overrides(given_flags(args))
    cfg = build_config("pix2pix", "facades", {**over, "data": {**over["data"], "root": "x"}})
    assert cfg.gan.betas == (0.4, 0.9) and cfg.gan.objective == "hinge"
    assert cfg.generator.norm == cfg.discriminator.norm == "instance"
    assert (cfg.discriminator.arch, cfg.discriminator.n_layers) == ("pixel", 4)
    assert (cfg.schedule.step_epochs, cfg.schedule.max_steps) == (7, 7)
    assert cfg.loss.lambda_gan == 0 and not cfg.data.flip
    assert cfg.data.direction == "BtoA"  # the preset's: not given, not overridden


def test_train_help_shows_the_real_defaults(capsys):
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    p2p, cyc = default_config("pix2pix"), default_config("cyclegan")
    assert f"(default: {p2p.generator.arch} for pix2pix, {cyc.generator.arch} for cyclegan)" in text
    norm = f"{p2p.generator.norm} for pix2pix, {cyc.generator.norm} for cyclegan"
    assert f"{{batch,instance,none}} normalisation in both networks (default: {norm})" in text
    assert f"--keep N numbered checkpoints to keep (default: {p2p.keep})" in text
    wgan = GANConfig(objective="wgan")
    assert f"(default: the objective's: {p2p.gan.lr}; {wgan.lr} for wgan;" in text
    specs = flag_specs()
    assert all(spec.flag in text for spec in specs)
    assert text.count("(default:") >= len(specs)


def test_resume_refuses_a_fixed_flag_in_one_line_naming_it(tmp_path, capsys):
    argv = ["train", "--resume", str(tmp_path), "--norm", "batch", "--max-steps", "3", "--quiet"]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    fixed, allowed = err.split("cannot change: ")[1].split(" (allowed: ")
    assert fixed == "--norm" and "--max-steps" in allowed and "--norm" not in allowed


def test_config_json_round_trip(tmp_path):
    cfg = tiny_config(
        "cyclegan", tmp_path, tmp_path / "run", gan={"objective": "hinge", "r1_gamma": 1.0}
    )
    cfg.save(tmp_path)
    again = TrainConfig.load(tmp_path)
    assert again == cfg
    raw = json.loads((tmp_path / "config.json").read_text())
    raw["generator"]["colour"] = 1
    (tmp_path / "config.json").write_text(json.dumps(raw))
    with pytest.raises(ValueError, match="colour"):
        TrainConfig.load(tmp_path)


def test_resume_from_a_weights_only_fp16_checkpoint(tmp_path):
    """A shipped checkpoint (fp16 safetensors + meta, no optimiser state) can be trained on."""
    from safetensors.torch import save_file

    root = aligned(tmp_path / "data", n=2)
    run = tmp_path / "run"
    train(tiny_config("pix2pix", root, run, schedule={"max_steps": 2}), progress=False)
    latest = ckpt.latest_checkpoint(run)
    (latest / "state.pt").unlink()
    for f in latest.glob("*.safetensors"):
        sd = load_file(f)
        save_file({k: v.half() if v.is_floating_point() else v for k, v in sd.items()}, f)
    cfg = merge_overrides(TrainConfig.load(run), {"schedule": {"max_steps": 3}})
    assert train(cfg, resume=True, progress=False).step == 3
    assert load_file(ckpt.latest_checkpoint(run) / "G.safetensors")["model.1.weight"].dtype == (
        torch.float32
    )


@pytest.mark.parametrize(
    ("model", "steps", "key", "precision"),
    [
        ("pix2pix", 100, "G_L1", "fp32"),
        ("cyclegan", 150, "cycle", "fp32"),
        ("pix2pix", 100, "G_L1", "bf16"),
    ],
)
def test_the_generators_learn(tmp_path, model, steps, key, precision, seed):
    """On tiny data the reconstruction loss falls: pix2pix's L1 to its target (B = inverted A),
    CycleGAN's cycle loss; a trainer that silently stopped learning fails here. bf16 runs
    emulated on CPUs without it: slower, the same claim."""
    make = aligned if model == "pix2pix" else unpaired
    cfg = tiny_config(model, make(tmp_path / "data", n=4, seed=seed), tmp_path / "run",
                      log_every=10, seed=seed, schedule={"max_steps": steps})  # fmt: skip
    cfg = merge_overrides(cfg, {"generator": {"ngf": 8}, "discriminator": {"ndf": 8},
                                # the claim is learning, not its pace
                                "gan": {"lr": 1e-3, "precision": precision},
                                "data": {"load_size": 32, "flip": False}})  # fmt: skip
    train(cfg, progress=False)
    losses = [r[key] for r in read_log(tmp_path / "run" / "log.jsonl")]
    assert sum(losses[-3:]) / 3 < 0.85 * losses[0], losses


def test_l1_only_baseline_trains_g_alone(tmp_path, seed):
    """--lambda-gan 0 is the paper's L1-only baseline: G learns from L1, D never moves, and the
    log has no adversarial terms."""
    cfg = tiny_config("pix2pix", aligned(tmp_path / "data", n=4, seed=seed), tmp_path / "run",
                      log_every=10, seed=seed, loss={"lambda_gan": 0.0}, gan={"lr": 1e-3},
                      schedule={"max_steps": 60}, save_every=30)  # fmt: skip
    cfg = merge_overrides(cfg, {"generator": {"ngf": 8}, "data": {"load_size": 32, "flip": False}})
    train(cfg, progress=False)
    logs = [r for r in read_log(tmp_path / "run" / "log.jsonl") if "G_L1" in r]
    assert not any("D" in r or "G_GAN" in r for r in logs)
    assert sum(r["G_L1"] for r in logs[-3:]) / 3 < 0.85 * logs[0]["G_L1"]
    first, last = sorted((tmp_path / "run" / "checkpoints").glob("step_*"))
    d_first, d_last = load_file(first / "D.safetensors"), load_file(last / "D.safetensors")
    assert all(torch.equal(d_first[k], d_last[k]) for k in d_first)
    g_first, g_last = load_file(first / "G.safetensors"), load_file(last / "G.safetensors")
    assert not all(torch.equal(g_first[k], g_last[k]) for k in g_first)


def test_precision_auto_is_decided_once_and_recorded(tmp_path, capsys, monkeypatch):
    """auto on a CPU without native bf16 runs fp32 and says so once; the config records the
    resolved dtype, so a resume keeps it even where detection would now answer otherwise."""
    root = aligned(tmp_path / "data", n=3)
    train(tiny_config("pix2pix", root, tmp_path / "a", schedule={"max_steps": 2}), progress=False)
    assert capsys.readouterr().out.count("precision: fp32 (this CPU has no native bf16") == 1
    saved = json.loads((tmp_path / "a" / "config.json").read_text())
    assert saved["gan"]["precision"] == "fp32"

    monkeypatch.setattr(adversarial, "cpu_has_native_bf16", lambda: True)
    train(tiny_config("pix2pix", root, tmp_path / "b", schedule={"max_steps": 2}), progress=False)
    assert "precision: fp32" not in capsys.readouterr().out
    assert json.loads((tmp_path / "b" / "config.json").read_text())["gan"]["precision"] == "bf16"
    monkeypatch.setattr(adversarial, "cpu_has_native_bf16", lambda: False)
    assert main(["train", "--resume", str(tmp_path / "b"), "--max-steps", "3", "--quiet"]) == 0
    assert TrainConfig.load(tmp_path / "b").gan.precision == "bf16"
