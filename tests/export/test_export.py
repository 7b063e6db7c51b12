"""ONNX export: one self-contained file that reproduces PyTorch (and the official reference
networks), describes itself, takes any batch and size, and refuses bad variants and bad inputs."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
import torch

from translate.cli import main
from translate.eval.metrics import psnr
from translate.export.onnx import (
    ExportError,
    check_parity,
    export_onnx,
    load_images,
    prepare_for_export,
    session,
)
from translate.gan.nets import create_generator, min_input_size
from translate.gan.weights import load_reference_weights
from translate.runtime.catalog import read_metadata, read_min_size
from translate.runtime.metadata import ModelMetadata

GOLDEN = "G_resnet_6blocks_ngf8_instance_in1_out3"
SUMMER = "summer2winter_yosemite/testA"


@pytest.fixture(scope="module")
def golden_export(tmp_path_factory):
    """The official reference's 1-in/3-out resnet_6blocks fixture, exported through the CLI."""
    from tests.conftest import REFERENCE

    if not REFERENCE.is_dir():
        pytest.skip(f"reference fixtures not found at {REFERENCE}")
    out = tmp_path_factory.mktemp("golden") / "sketch.onnx"
    argv = ["export", str(REFERENCE / f"{GOLDEN}.pth"), "-o", str(out)]
    argv += ["--recommended-size", "64", "--task", "sketch-to-photo"]
    argv += ["--source-domain", "sketch", "--target-domain", "photo", "--description", "tiny"]
    rc = main(argv)
    return rc, out, REFERENCE


def test_export_reproduces_the_reference_network(golden_export, capsys):
    rc, out, ref = golden_export
    assert rc == 0
    sess = session(out)
    x = np.load(ref / f"{GOLDEN}.input.npy")  # batch of 2: the batch dimension is dynamic
    y = sess.run(None, {"input": x})[0]
    assert np.abs(y - np.load(ref / f"{GOLDEN}.output.npy")).max() <= 1e-4


def test_export_accepts_other_sizes(golden_export):
    rc, out, ref = golden_export
    net = load_reference_weights(ref / f"{GOLDEN}.pth", "resnet_6blocks", input_nc=1, ngf=8)
    x = torch.rand(3, 1, 48, 80) * 2 - 1
    y = session(out).run(None, {"input": x.numpy()})[0]
    with torch.no_grad():
        assert np.abs(y - net(x).numpy()).max() <= 1e-4
    # The check itself notices a network that differs from the file.
    with torch.no_grad():
        net.model[-2].weight.mul_(1.5)  # the last conv: no normalisation undoes it
    assert check_parity(out.read_bytes(), net, [(1, 32, 32)], 1)[0].max_abs_diff > 1e-2


def test_export_is_one_file_with_named_dynamic_axes(golden_export):
    rc, out, _ = golden_export
    assert sorted(p.name for p in out.parent.iterdir()) == [out.name]  # no .data, no temp file
    model = onnx.load(str(out), load_external_data=False)
    assert not any(t.external_data for t in model.graph.initializer)
    assert next(o.version for o in model.opset_import if o.domain in ("", "ai.onnx")) >= 17
    (inp,), (outp,) = model.graph.input, model.graph.output
    assert (inp.name, outp.name) == ("input", "output")
    dims = [d.dim_param or d.dim_value for d in inp.type.tensor_type.shape.dim]
    assert dims == ["batch", 1, "height", "width"]
    assert inp.type.tensor_type.elem_type == onnx.TensorProto.FLOAT


def test_export_metadata_is_inside_and_readable(golden_export):
    _, out, _ = golden_export
    meta = ModelMetadata.from_props(read_metadata(out))
    assert (meta.arch, meta.norm, meta.ngf, meta.input_nc, meta.output_nc) == (
        "resnet_6blocks",
        "instance",
        8,
        1,
        3,
    )
    assert meta.size_multiple == 4 and meta.recommended_size == 64
    assert meta.channel_order == "L"  # one input channel
    assert (meta.task, meta.source_domain, meta.target_domain) == (
        "sketch-to-photo",
        "sketch",
        "photo",
    )
    assert (meta.test_mode, meta.precision, meta.model_type) == ("eval", "fp32", "reference")
    assert meta.value_range == (-1.0, 1.0) and meta.layout == "NCHW"
    assert meta.translate_version and meta.description == "tiny"


def test_train_mode_prepares_the_reference_behaviour():
    net = create_generator(arch="unet_128", ngf=4, norm="batch", dropout=True)
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, torch.nn.BatchNorm2d):  # non-trivial running statistics
                m.running_mean.uniform_(-0.5, 0.5)
                m.running_var.uniform_(0.5, 2.0)
    x = torch.rand(2, 3, 128, 128) * 2 - 1
    reference = net.train()
    for m in reference.modules():
        if isinstance(m, torch.nn.Dropout):
            m.eval()
    quiet = prepare_for_export(net, "train", noise=False)
    with torch.no_grad():
        # Batch statistics of a single image, as the reference's test script computes them.
        assert torch.allclose(quiet(x[:1]), reference(x[:1]), atol=1e-5)
        # Per image: the second image's output does not depend on the first.
        assert torch.allclose(quiet(x)[1], quiet(x[1:])[0], atol=1e-5)
        noisy = prepare_for_export(net, "train")
        assert not torch.allclose(noisy(x[:1]), noisy(x[:1]))
        evaluated = prepare_for_export(net, "eval")
        assert torch.equal(evaluated(x), evaluated(x))
        assert not torch.allclose(evaluated(x[:1]), quiet(x[:1]), atol=1e-3)


def test_train_mode_export_keeps_dropout_noise(tmp_path, reference_dir):
    net = load_reference_weights(
        reference_dir / "G_unet_256_ngf8_batch_dropout.pth",
        "unet_256",
        norm="batch",
        ngf=8,
        dropout=True,
    )
    out = tmp_path / "p2p.onnx"
    report = export_onnx(
        net, out, ModelMetadata(test_mode="train", model_type="pix2pix"), sizes=[(1, 256, 256)]
    )
    assert report.parity_ok and len(report.parity) == 1
    meta = ModelMetadata.from_props(read_metadata(out))
    assert (meta.test_mode, meta.dropout, meta.arch, meta.size_multiple) == (
        "train",
        True,
        "unet_256",
        256,
    )
    x = np.load(reference_dir / "G_unet_256_ngf8_batch_dropout.input.npy")
    sess = session(out)
    a, b = (sess.run(None, {"input": x})[0] for _ in range(2))
    assert np.abs(a - b).max() > 1e-3  # the noise survives onnxruntime's graph optimisation


def _tiny_source(tmp_path) -> tuple[torch.nn.Module, str]:
    net = create_generator(arch="resnet_6blocks", ngf=8)
    path = tmp_path / "tiny.pth"
    torch.save(net.state_dict(), path)
    return net.eval(), str(path)


def test_int8_export_passes_the_gate_and_keeps_norms_in_float(tmp_path, data_dir):
    net, _ = _tiny_source(tmp_path)
    calib = data_dir / SUMMER
    out = tmp_path / "tiny.int8.onnx"
    meta = ModelMetadata(recommended_size=32)
    report = export_onnx(
        net, out, meta, precision="int8", calib=calib, calib_count=4, check_count=2,
        sizes=[(1, 32, 32)],
    )  # fmt: skip
    assert report.ok and report.quality.images == 2 and report.quality.size == 32
    # The figure is real: recompute it from the written file against PyTorch's fp32 output,
    # on outputs that are not flat (the gate would mean nothing on a constant image).
    images = load_images(calib, 32, 3, 2, skip=4)
    sess = session(out)
    with torch.no_grad():
        ref = [net(torch.from_numpy(i[None])).numpy() for i in images]
    assert min(float(r.std()) for r in ref) > 0.1
    got = np.mean(
        [psnr(sess.run(None, {"input": i[None]})[0], r) for i, r in zip(images, ref, strict=True)]
    )
    assert abs(got - report.quality.psnr) < 0.05 and got >= 30
    meta = ModelMetadata.from_props(read_metadata(out))
    assert meta.precision == "int8" and float(meta.extra["quality_psnr_db"]) == pytest.approx(
        got, abs=0.05
    )
    model = onnx.load(str(out))
    producers = {o: n for n in model.graph.node for o in n.output}
    inits = {t.name: t for t in model.graph.initializer}

    def weight_type(node):
        w = node.input[1]
        if w in producers and producers[w].op_type == "DequantizeLinear":
            return inits[producers[w].input[0]].data_type
        return inits[w].data_type

    convs = [n for n in model.graph.node if n.op_type == "Conv"]
    assert convs and all(weight_type(n) == onnx.TensorProto.INT8 for n in convs)
    deconvs = [n for n in model.graph.node if n.op_type == "ConvTranspose"]
    assert deconvs and all(weight_type(n) == onnx.TensorProto.FLOAT for n in deconvs)
    assert "InstanceNormalization" in {n.op_type for n in model.graph.node}


@pytest.mark.parametrize(
    "arch,upsample,antialias",
    [
        ("resnet_6blocks_up", "nearest", False),
        ("resnet_9blocks_up", "bilinear", True),
        ("unet_128_up", "bilinear", False),
        ("unet_256_up", "nearest", True),
    ],
)
def test_resize_conv_generators_export_with_parity(tmp_path, arch, upsample, antialias):
    """Resize-conv decoders (ONNX Resize) and blur-pool encoders match PyTorch at sizes other
    than the exported one, and the recorded minimum size is the one read off the graph."""
    net = create_generator(arch=arch, ngf=4, upsample=upsample, antialias=antialias).eval()
    out = tmp_path / f"{arch}.onnx"
    assert export_onnx(net, out, ModelMetadata(recommended_size=max(16, 2 * net.size_multiple))).ok
    meta = ModelMetadata.from_props(read_metadata(out))
    assert (meta.arch, meta.upsample, meta.antialias) == (arch, upsample, antialias)
    assert meta.min_size == min_input_size(net) == read_min_size(out, net.size_multiple)
    m = net.size_multiple
    x = torch.rand(2, 3, max(m, 8), max(m, 8) + m) * 2 - 1
    with torch.no_grad():
        expected = net(x).numpy()
    assert np.abs(session(out).run(None, {"input": x.numpy()})[0] - expected).max() <= 1e-4


def test_int8_export_of_a_resize_conv_generator(tmp_path, data_dir):
    net = create_generator(arch="resnet_6blocks_up", ngf=8, upsample="bilinear", antialias=True)
    report = export_onnx(
        net.eval(), tmp_path / "up.int8.onnx", ModelMetadata(recommended_size=32),
        precision="int8", calib=data_dir / SUMMER, calib_count=4, check_count=2,
        sizes=[(1, 32, 32)],
    )  # fmt: skip
    assert report.ok and report.quality.psnr >= 30
    ops = {n.op_type for n in onnx.load(str(tmp_path / "up.int8.onnx")).graph.node}
    assert {"Resize", "QuantizeLinear", "DequantizeLinear"} <= ops and "ConvTranspose" not in ops


def test_int8_below_the_gate_is_refused_with_exit_1(tmp_path, data_dir, capsys):
    _, source = _tiny_source(tmp_path)
    out = tmp_path / "tiny.int8.onnx"
    argv = ["export", source, "-o", str(out), "--int8", "--calib", str(data_dir / SUMMER)]
    argv += ["--calib-count", "2", "--check-count", "1", "--recommended-size", "32"]
    assert main([*argv, "--min-psnr", "99"]) == 1
    printed = capsys.readouterr()
    assert "PSNR" in printed.out and "FAILED" in printed.out and "nothing written" in printed.err
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tiny.pth"]


def test_fp16_keeps_instance_norm_in_fp32(tmp_path, data_dir):
    net, _ = _tiny_source(tmp_path)
    out = tmp_path / "tiny.fp16.onnx"
    report = export_onnx(
        net, out, ModelMetadata(recommended_size=32), precision="fp16",
        check=data_dir / SUMMER, check_count=2, sizes=[(1, 32, 32)],
    )  # fmt: skip
    assert report.ok and report.quality.psnr >= 30
    model = onnx.load(str(out))
    types = {t.name: t.data_type for t in model.graph.initializer}
    conv_weights = [n.input[1] for n in model.graph.node if n.op_type == "Conv"]
    assert {types[w] for w in conv_weights} == {onnx.TensorProto.FLOAT16}
    # InstanceNormalization's inputs are produced by Cast nodes to float32.
    producers = {o: n for n in model.graph.node for o in n.output}
    for node in (n for n in model.graph.node if n.op_type == "InstanceNormalization"):
        cast = producers[node.input[0]]
        assert cast.op_type == "Cast" and cast.attribute[0].i == onnx.TensorProto.FLOAT
    assert model.graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.FLOAT
    assert ModelMetadata.from_props(read_metadata(out)).precision == "fp16"


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--arch", "resnet_9blocks", "--ngf", "8"], "missing keys"),
        (["--arch", "unet_256", "--ngf", "8"], "unexpected keys"),
        (["--int8"], "--calib"),
        (["--int8", "--calib", "/nonexistent/folder"], "not a folder"),
        (["--opset", "17"], "opset 17"),
    ],
)
def test_bad_export_requests_exit_2_with_the_reason(tmp_path, capsys, extra, message):
    _, source = _tiny_source(tmp_path)
    out = tmp_path / "x.onnx"
    assert main(["export", source, "-o", str(out), *extra]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") <= 12 and "Traceback" not in err
    assert not out.exists()


def test_bad_sources_and_outputs_exit_2(tmp_path, capsys):
    _, source = _tiny_source(tmp_path)
    assert main(["export", str(tmp_path / "missing.pth"), "-o", str(tmp_path / "x.onnx")]) == 2
    assert "no such file" in capsys.readouterr().err
    assert main(["export", source, "-o", str(tmp_path / "x.pt")]) == 2
    assert ".onnx" in capsys.readouterr().err
    assert main(["export", str(tmp_path), "-o", str(tmp_path / "x.onnx")]) == 2
    assert "not a training run" in capsys.readouterr().err


def test_int8_is_not_offered_where_it_pays_too_little(tmp_path):
    net = create_generator(arch="unet_256", ngf=4, norm="batch")
    with pytest.raises(ExportError, match="pays too little for unet_256"):
        export_onnx(net, tmp_path / "u.onnx", ModelMetadata(), precision="int8", calib=tmp_path)
    assert not (tmp_path / "u.onnx").exists()


def test_export_of_a_training_run_records_what_it_learned(tmp_path, data_dir, capsys):
    checkpoint = pytest.importorskip("translate.training.checkpoint")
    run, out = tmp_path / "run", tmp_path / "photo2vangogh.onnx"
    train = ["train", "cyclegan", "--data", str(data_dir / "vangogh2photo"), "--out", str(run)]
    train += ["--arch", "resnet_6blocks", "--ngf", "4", "--ndf", "4", "--load-size", "64"]
    train += ["--crop-size", "64", "--max-steps", "2", "--max-images", "2", "--save-every", "2"]
    assert main([*train, "--quiet", "--workers", "0", "--threads", "1"]) == 0
    assert main(["export", str(run), "-o", str(out), "--direction", "BtoA", "--task", "style"]) == 0
    meta = ModelMetadata.from_props(read_metadata(out))
    assert (meta.model_type, meta.direction, meta.task) == ("cyclegan", "BtoA", "style")
    assert (meta.source_domain, meta.target_domain) != ("A", "B")  # G_B maps B to A
    assert (meta.training_data, meta.training_iterations, meta.recommended_size) == (
        "vangogh2photo",
        2,
        64,
    )
    net, _ = checkpoint.load_generator(run, direction="BtoA")
    x = torch.rand(1, 3, 64, 64) * 2 - 1
    with torch.no_grad():
        expected = net(x).numpy()
    assert np.abs(session(out).run(None, {"input": x.numpy()})[0] - expected).max() <= 1e-4


def test_parity_is_checked_at_sizes_the_network_accepts(tmp_path):
    """A tiny recommended size (a ResNet's reflect pads need 8 px) still exports: the parity
    shapes are raised to the network's minimum instead of failing inside it."""
    net = create_generator(arch="resnet_6blocks", ngf=4).eval()
    report = export_onnx(net, tmp_path / "small.onnx", ModelMetadata(recommended_size=4))
    assert report.ok
    assert min(min(p.shape[2:]) for p in report.parity) >= min_input_size(net) == 8
