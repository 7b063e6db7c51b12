"""Edge sketches (`translate edges`) and hand-drawing normalisation."""

import hashlib
import io

import cv2
import numpy as np
import pytest
from PIL import Image, ImageDraw

from translate.cli import build_parser, main
from translate.runtime.edges import (
    EdgeConfig,
    SketchConfig,
    extract_edges,
    normalize_sketch,
    take_half,
    thin,
)
from translate.runtime.images import load_image


def ink(img: Image.Image) -> np.ndarray:
    arr = np.asarray(img)
    assert img.mode == "L" and set(np.unique(arr)) <= {0, 255}, "black strokes on white only"
    return arr == 0


def thick_fraction(mask: np.ndarray) -> float:
    """Share of ink pixels in a fully inked 2x2 block: 0 for 1-px strokes."""
    m = mask.astype(np.uint8)
    blocks = m[:-1, :-1] & m[1:, :-1] & m[:-1, 1:] & m[1:, 1:]
    return blocks.sum() / max(m.sum(), 1)


def distance_to(mask: np.ndarray) -> np.ndarray:
    """Distance of every pixel to the nearest True pixel of ``mask``."""
    return cv2.distanceTransform((~mask).astype(np.uint8), cv2.DIST_L2, 5)


def shapes(size=128, specks=()) -> Image.Image:
    """A dark rectangle and a mid-grey disc on a light, slightly noisy background."""
    rng = np.random.default_rng(0)
    arr = np.clip(235 + rng.normal(0, 3, (size, size, 3)), 0, 255).astype(np.uint8)
    img = Image.fromarray(arr)
    d = ImageDraw.Draw(img)
    d.rectangle((16, 20, 60, 100), fill=(40, 30, 30))
    d.ellipse((72, 40, 112, 80), fill=(120, 140, 200))
    for x, y in specks:
        d.rectangle((x, y, x + 6, y + 1), fill=(0, 0, 0))  # a 7x2 dash
    return img


def png_bytes(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


@pytest.mark.parametrize("method", ["canny", "xdog"])
def test_shapes_give_their_outlines(method):
    sketch = ink(extract_edges(shapes(), EdgeConfig(method=method)))
    outline = np.zeros((128, 128), bool)
    outline[20:101, 16:61] = True
    outline[22:99, 18:59] = False  # the rectangle's 2-px border band
    disc = np.zeros((128, 128), np.uint8)
    cv2.circle(disc, (92, 60), 20, 1, 1)
    truth = outline | disc.astype(bool)
    assert (distance_to(truth)[sketch] <= 3).mean() > 0.97, "strokes lie on the shapes' outlines"
    assert (distance_to(sketch)[truth] <= 3).mean() > 0.9, "and the outlines are drawn"
    assert thick_fraction(sketch) < 0.02


def test_deterministic_same_size_thin_strokes():
    img = shapes(size=97).resize((97, 61))  # odd, non-square
    first, second = extract_edges(img), extract_edges(img.copy())
    assert first.size == (97, 61) and first.mode == "L"
    assert png_bytes(first) == png_bytes(second)
    assert ink(first).any()


def test_small_specks_removed_but_outline_kept():
    specks = [(100, 104), (110, 10), (4, 116)]
    sketch = ink(extract_edges(shapes(specks=specks)))
    for x, y in specks:
        assert not sketch[y - 3 : y + 5, x - 3 : x + 10].any(), f"speck at {x},{y} drawn"
    assert sketch[20:101, 14:63].sum() > 200


def test_flat_image_stays_blank():
    rng = np.random.default_rng(1)
    flat = np.clip(200 + rng.normal(0, 2, (64, 64, 3)), 0, 255).astype(np.uint8)
    assert not ink(extract_edges(Image.fromarray(flat))).any()


def test_thin_keeps_topology_and_makes_one_pixel_lines():
    mask = np.zeros((40, 60), bool)
    cv2.rectangle(mask.view(np.uint8), (5, 5), (54, 34), 1, 5)  # a 5-px thick frame
    thinned = thin(mask)
    assert thick_fraction(thinned) == 0
    assert cv2.connectedComponents(thinned.astype(np.uint8), connectivity=8)[0] == 2
    holes = cv2.connectedComponents((~thinned).astype(np.uint8), connectivity=4)[0] - 1
    assert holes == 2, "still a closed loop: inside and outside stay separate"
    assert np.array_equal(thin(thinned), thinned), "thinning a thin mask changes nothing"
    stairs = np.zeros((12, 14), bool)  # a 2-px thick diagonal (Zhang-Suen erases this one)
    for i in range(10):
        stairs[i + 1, i + 1 : i + 3] = True
    line = thin(stairs)
    assert line.sum() >= 10 and thick_fraction(line) == 0
    assert cv2.connectedComponents(line.astype(np.uint8), connectivity=8)[0] == 2


def test_sketches_resemble_the_official_edges2shoes_ones(data_dir):
    """Within 3 px, most of our strokes lie on an official (HED-made) stroke and vice versa."""
    files = sorted((data_dir / "edges2shoes" / "val").glob("*.jpg"))[:6]
    scores = []
    for f in files:
        pair = load_image(f)
        official = np.asarray(take_half(pair, "left").convert("L")) < 128
        ours = ink(extract_edges(take_half(pair, "right")))
        precision = (distance_to(official)[ours] <= 3).mean()
        recall = (distance_to(ours)[official] <= 3).mean()
        scores.append(2 * precision * recall / (precision + recall))
        assert 0.3 < ours.mean() / official.mean() < 3, f"{f.name}: far more or less ink"
        assert thick_fraction(ours) < 0.01
    assert np.mean(scores) > 0.7, scores


# --------------------------------------------------------------------------------------------
# hand drawings


def canvas(size=(200, 160), width=11, colour=(0, 0, 0, 255)) -> Image.Image:
    img = Image.new("RGBA", size, (0, 0, 0, 0))
    d = ImageDraw.Draw(img)
    d.ellipse((30, 30, 150, 130), outline=colour, width=width)
    d.line((10, 150, 190, 140), fill=colour, width=width)
    return img


@pytest.mark.parametrize("colour", [(0, 0, 0, 255), (255, 255, 255, 255), (30, 60, 220, 255)])
def test_hand_drawing_becomes_thin_black_strokes(colour):
    drawn = canvas(colour=colour)
    out = normalize_sketch(drawn)
    strokes = ink(out)
    assert out.size == drawn.size
    assert thick_fraction(strokes) < 0.02
    painted = np.asarray(drawn)[..., 3] > 0
    assert strokes.sum() < painted.sum() / 5, "11-px strokes become lines"
    assert (distance_to(painted)[strokes] == 0).all(), "only where something was drawn"
    assert (distance_to(strokes)[painted] <= 8).all(), "every stroke is kept"
    as_array = normalize_sketch(np.asarray(drawn))  # what the Gradio canvas hands over
    assert png_bytes(as_array) == png_bytes(out)


def test_photo_of_a_drawing_ignores_shading_and_specks():
    rng = np.random.default_rng(2)
    yy, xx = np.mgrid[:160, :240]
    paper = 150 + 80 * xx / 240 - 40 * yy / 160  # uneven light across the page
    arr = np.clip(paper[..., None] + rng.normal(0, 4, (160, 240, 3)), 0, 255).astype(np.uint8)
    img = Image.fromarray(arr)
    d = ImageDraw.Draw(img)
    d.polygon([(40, 120), (120, 30), (200, 120)], outline=(70, 70, 70), width=4)
    d.point([(20, 20), (220, 150)], fill=(60, 60, 60))
    strokes = ink(normalize_sketch(img))
    drawn = np.zeros((160, 240), np.uint8)
    cv2.polylines(drawn, [np.array([(40, 120), (120, 30), (200, 120)])], True, 1, 1)
    assert (distance_to(drawn.astype(bool))[strokes] <= 3).all(), "no paper texture or specks"
    assert (distance_to(strokes)[drawn.astype(bool)] <= 3).mean() > 0.95


def test_blank_canvas_and_resize():
    assert not ink(normalize_sketch(Image.new("RGBA", (64, 64), (0, 0, 0, 0)))).any()
    assert not ink(normalize_sketch(Image.new("RGB", (64, 64), (250, 250, 250)))).any()
    big = canvas(size=(400, 320), width=3)
    small = normalize_sketch(big, size=(100, 80))
    assert small.size == (100, 80)
    painted = np.asarray(big.resize((100, 80), Image.BOX))[..., 3] > 0
    strokes = ink(small)
    assert (distance_to(strokes)[painted] <= 1.5).all(), "3-px strokes survive a 4x reduction"
    assert (distance_to(painted)[strokes] == 0).all()
    assert thick_fraction(strokes) < 0.02
    with pytest.raises(ValueError, match="min_ink"):
        SketchConfig(min_ink=1.5)


# --------------------------------------------------------------------------------------------
# the command


def digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_cli_defaults_are_the_config_defaults():
    args = build_parser().parse_args(["edges", "in", "out"])
    fields = EdgeConfig.__dataclass_fields__
    assert {name: getattr(args, name) for name in fields} == EdgeConfig().__dict__


def test_cli_folder_with_bad_file_and_spaces(tmp_path, capsys):
    src = tmp_path / "in put"
    src.mkdir()
    shapes(64).save(src / "a photo.png")
    shapes(64).save(src / "a photo.jpg", quality=95)  # same stem: both must survive
    (src / "broken.jpg").write_bytes(b"not a jpeg at all")
    (src / "notes.txt").write_text("not an image")
    before = {p.name: digest(p) for p in src.iterdir()}
    out = tmp_path / "out"
    code = main(["edges", str(src), str(out)])
    err = capsys.readouterr()
    assert code == 1
    assert "broken.jpg" in err.err and "not an image" in err.err
    assert "wrote 2 sketches" in err.out and "1 failed" in err.out and "ignored 1" in err.out
    assert sorted(p.name for p in out.iterdir()) == ["a photo.jpg.png", "a photo.png.png"]
    assert {p.name: digest(p) for p in src.iterdir()} == before, "inputs untouched"
    assert not list(out.glob(".*")), "no temporary files left"
    first = digest(out / "a photo.png.png")
    assert main(["edges", str(src), str(out)]) == 1
    assert digest(out / "a photo.png.png") == first, "same input, same bytes"


def test_cli_aligned_pairs_from_the_right_half(tmp_path):
    photo, other = shapes(48), Image.new("RGB", (48, 48), (255, 0, 0))
    ab = Image.new("RGB", (96, 48))
    ab.paste(other, (0, 0))
    ab.paste(photo, (48, 0))
    src = tmp_path / "pair 1.png"
    ab.save(src)
    out = tmp_path / "train"
    assert main(["edges", str(src), str(out), "--half", "right", "--aligned"]) == 0
    pair = load_image(out / "pair 1.png")
    assert pair.size == (96, 48) and pair.mode == "RGB"
    assert np.array_equal(np.asarray(take_half(pair, "right")), np.asarray(photo))
    sketch = np.asarray(take_half(pair, "left"))
    expected = np.asarray(extract_edges(photo).convert("RGB"))
    assert np.array_equal(sketch, expected), "A = the sketch of B"


def test_cli_refuses_to_overwrite_input(tmp_path, capsys):
    img = tmp_path / "x.png"
    shapes(32).save(img)
    before = digest(img)
    assert main(["edges", str(img), str(img)]) == 2
    assert main(["edges", str(tmp_path), str(tmp_path)]) == 2
    assert main(["edges", str(tmp_path / "missing"), str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "overwrite the input" in err and "input folder" in err and "no such file" in err
    assert digest(img) == before
    assert main(["edges", str(img), str(tmp_path / "sketch.jpg")]) == 0
    assert load_image(tmp_path / "sketch.jpg").size == (32, 32)
