"""The training data pipeline: layouts, the early scan and its errors, transforms, sampling."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image
from tiny_data import aligned, blocks, one_thread, unpaired  # noqa: F401  (fixture)

from translate.training.data import (
    DataConfig,
    DatasetError,
    EpochSampler,
    PairedDataset,
    SingleDataset,
    UnpairedDataset,
    resized_size,
    scan_paired,
    scan_single,
    scan_unpaired,
)

pytestmark = pytest.mark.usefixtures("one_thread")


def cfg(**kw) -> DataConfig:
    return DataConfig(**{"load_size": 36, "crop_size": 32, "workers": 0, **kw})


def test_aligned_pairs_get_the_same_crop_and_flip(tmp_path):
    root = aligned(tmp_path, n=4)
    scan = scan_paired(root, "train", cfg())
    assert scan.layout == "aligned" and len(scan.a) == 4
    ds = PairedDataset(scan, cfg(), (3, 3), seed=1)
    for i in range(len(ds)):
        variants = []
        for epoch in range(4):
            item = ds[(epoch, i)]
            assert item["A"].shape == item["B"].shape == (3, 32, 32)
            assert -1 <= item["A"].min() and item["A"].max() <= 1
            # B was saved as the inverse of A: any crop/flip must have hit both identically.
            assert torch.allclose(item["B"], -item["A"], atol=0.05)
            variants.append(item["A"])
        assert any(not torch.equal(v, variants[0]) for v in variants[1:])  # random per epoch


def test_augmentation_depends_only_on_seed_epoch_and_index(tmp_path):
    scan = scan_paired(aligned(tmp_path), "train", cfg())
    a = PairedDataset(scan, cfg(), (3, 3), seed=3)
    b = PairedDataset(scan, cfg(), (3, 3), seed=3)
    assert torch.equal(a[(2, 1)]["A"], b[(2, 1)]["A"])
    assert not all(torch.equal(a[(e, 1)]["A"], a[(0, 1)]["A"]) for e in range(1, 6))


def test_two_folder_layout_matches_names_across_extensions(tmp_path):
    rng = np.random.default_rng(0)
    for side, ext in (("A", "png"), ("B", "jpg")):
        (tmp_path / "train" / side).mkdir(parents=True)
        for name in ("één", "two words"):
            Image.fromarray(blocks(rng)).save(tmp_path / "train" / side / f"{name}.{ext}")
    scan = scan_paired(tmp_path, "train", cfg())
    assert scan.layout == "two_folder"
    assert [p.stem for p in scan.a] == [p.stem for p in scan.b] == ["two words", "één"]
    assert [p.suffix for p in scan.a + scan.b] == [".png"] * 2 + [".jpg"] * 2
    item = PairedDataset(scan, cfg(), (3, 1))[0]
    assert item["A"].shape == (3, 32, 32) and item["B"].shape == (1, 32, 32)


def test_two_folder_name_mismatch_names_the_files(tmp_path):
    rng = np.random.default_rng(0)
    for side, names in (("A", ["x", "only in a"]), ("B", ["x", "only in b"])):
        (tmp_path / side).mkdir()
        for n in names:
            Image.fromarray(blocks(rng)).save(tmp_path / side / f"{n}.png")
    with pytest.raises(DatasetError) as e:
        scan_paired(tmp_path, "train", cfg())
    assert "only in a.png" in str(e.value) and "only in b.png" in str(e.value)


def test_empty_and_missing_folders_fail_early(tmp_path):
    (tmp_path / "train").mkdir()
    (tmp_path / "train" / "notes.txt").write_text("not an image")
    with pytest.raises(DatasetError, match="no images found"):
        scan_paired(tmp_path, "train", cfg())
    with pytest.raises(DatasetError, match="no such folder"):
        scan_paired(tmp_path / "missing", "train", cfg())
    (tmp_path / "trainA").mkdir()
    with pytest.raises(DatasetError, match="trainA: no images found"):
        scan_unpaired(tmp_path, "train", cfg())


def test_unreadable_images_are_named_or_skipped_and_counted(tmp_path):
    root = aligned(tmp_path, n=3)
    (root / "train" / "broken ü.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    (root / "train" / "empty.jpg").write_bytes(b"")
    with pytest.raises(DatasetError) as e:
        scan_paired(root, "train", cfg())
    assert "broken ü.png" in str(e.value) and "empty.jpg" in str(e.value)
    assert "--skip-bad" in str(e.value)
    scan = scan_paired(root, "train", cfg(skip_bad=True))
    assert len(scan.a) == 3 and len(scan.skipped) == 2
    assert "skipped 2 unreadable" in scan.describe()


def test_unpaired_draws_b_reproducibly_and_serially(tmp_path):
    root = unpaired(tmp_path, n=3)
    scan = scan_unpaired(root, "train", cfg())
    ds = UnpairedDataset(scan, cfg(), (3, 3), seed=0)
    assert len(ds) == 4  # the larger side
    assert ds[(1, 2)]["B_path"] == ds[(1, 2)]["B_path"]
    drawn = {ds[(e, 0)]["B_path"] for e in range(12)}
    assert len(drawn) > 1  # B at random across epochs
    serial = UnpairedDataset(scan, cfg(serial_batches=True), (3, 3))
    assert [serial[i]["B_path"] for i in range(4)] == [str(p) for p in scan.b[:4]]
    assert serial[3]["A_path"] == str(scan.a[0])  # A wraps around


def test_preprocess_sizes():
    c = cfg(load_size=64, crop_size=32, preprocess="scale_width")
    assert resized_size(100, 50, c, 4) == (64, 32)
    assert resized_size(100, 50, cfg(preprocess="none"), 16) == (96, 48)
    assert resized_size(20, 5, cfg(preprocess="none"), 16) == (16, 16)
    assert resized_size(
        100, 50, cfg(load_size=64, crop_size=48, preprocess="scale_width_and_crop"), 4
    ) == (64, 48)
    with pytest.raises(ValueError, match="larger than load size"):
        DataConfig(load_size=32, crop_size=64)
    with pytest.raises(ValueError, match="unknown preprocess"):
        DataConfig(preprocess="squash")


def test_modes_and_formats_become_the_configured_channels(tmp_path):
    rgba = np.zeros((40, 40, 4), np.uint8)
    rgba[..., 3] = 0  # fully transparent: composited on white
    Image.fromarray(rgba, "RGBA").save(tmp_path / "transparent.png")
    Image.fromarray((np.arange(40 * 40).reshape(40, 40) * 40).astype(np.uint16)).save(
        tmp_path / "sixteen bit.png"
    )
    Image.fromarray(blocks(np.random.default_rng(1), 40)).convert("P").save(tmp_path / "pal.gif")
    scan = scan_single(tmp_path, cfg())
    assert len(scan.a) == 3
    for channels in (1, 3):
        ds = SingleDataset(scan, cfg(), channels)
        for i in range(3):
            assert ds[i]["A"].shape == (channels, 32, 32)
    white = SingleDataset(scan, cfg(), 3)[[p.name for p in scan.a].index("transparent.png")]
    assert torch.allclose(white["A"], torch.ones(3, 32, 32))


def test_sampler_resumes_part_way_and_splits_across_ranks(tmp_path):
    ds = list(range(10))
    sampler = EpochSampler(ds, seed=5)
    sampler.set_position(3)
    full = list(sampler)
    assert sorted(i for _, i in full) == list(range(10)) and {e for e, _ in full} == {3}
    sampler.set_position(3, start=4)
    assert list(sampler) == full[4:] and len(sampler) == 6
    ranks = [EpochSampler(ds, rank=r, world_size=2, seed=5) for r in (0, 1)]
    for s in ranks:
        s.set_position(0)
    got = [i for s in ranks for _, i in s]
    assert sorted(got) == list(range(10))
