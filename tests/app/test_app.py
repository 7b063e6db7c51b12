"""The web app, served for real by ``translate app`` on a free localhost port: gradio_client calls
every tab's endpoint, and headless Chromium (Debian's package, driven by Playwright) draws on the
sketch canvas and clicks every example. The models are tiny (ngf 4) ONNX files, under the bundled
models' names and metadata, written into a temporary models folder."""

from __future__ import annotations

import io
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import onnx
import pytest
from PIL import Image, ImageDraw

from translate.export.onnx import export_onnx, set_metadata
from translate.gan.nets import GeneratorConfig, create_generator
from translate.runtime.metadata import ModelMetadata

gradio_client = pytest.importorskip("gradio_client")
from gradio_client import Client, handle_file  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
SIZE = 32  # the models' recommended (training) size
MAX_PIXELS = 250_000  # the served app downscales larger uploads to this
MODELS = {  # the bundled models' names and metadata
    "sketch2photo": dict(task="sketch-to-photo", source_domain="edge sketch",
                         target_domain="shoe photo", model_type="pix2pix"),
    "facades_labels2photo": dict(task="labels-to-photo", source_domain="label map",
                                 target_domain="facade photo", model_type="pix2pix"),
    "summer2winter": dict(task="season", source_domain="summer", target_domain="winter",
                          model_type="cyclegan"),
    "summer2winter.int8": dict(task="season", source_domain="summer", target_domain="winter",
                               model_type="cyclegan", precision="int8"),
    "winter2summer": dict(task="season", source_domain="winter", target_domain="summer",
                          direction="BtoA", model_type="cyclegan"),
    "photo2monet": dict(task="style", source_domain="photo", target_domain="Monet painting",
                        direction="BtoA", model_type="cyclegan"),
    "monet2photo": dict(task="style", source_domain="Monet painting", target_domain="photo",
                        model_type="cyclegan"),
}  # fmt: skip
# Issue #11: each tab's tab title, the model it opens on, and the model each example selects.
PAGE = {
    "sketch": ("Sketch → Photo", "sketch2photo", {
        "sketch-shoe.png": "sketch2photo", "sketch-sneaker.png": "sketch2photo",
        "labels-facade.png": "facades_labels2photo"}),
    "style": ("Style transfer", "photo2monet", {
        "photo-avenue.jpg": "photo2monet", "photo-beach.jpg": "photo2monet",
        "monet-water-lilies.jpg": "monet2photo"}),
    "season": ("Season transfer", "summer2winter", {
        "summer-el-capitan.jpg": "summer2winter", "summer-waterfall.jpg": "summer2winter",
        "winter-trees.jpg": "winter2summer"}),
}  # fmt: skip
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
]  # fmt: skip


def write_models(folder: Path) -> Path:
    """One tiny resnet generator exported once, then saved under each name of MODELS with that
    entry's metadata (the graph is the same; only what the app reads differs)."""
    folder.mkdir(parents=True, exist_ok=True)
    net = create_generator(GeneratorConfig(arch="resnet_6blocks", ngf=4))
    (first, fields), *rest = MODELS.items()
    meta = ModelMetadata(
        recommended_size=SIZE, training_data="test noise", description="untrained", **fields
    )
    export_onnx(net, folder / f"{first}.onnx", meta, verify=False)
    graph = onnx.load(str(folder / f"{first}.onnx"))
    exported = {p.key: p.value for p in graph.metadata_props}
    for name, fields in rest:
        props = {**exported, **{k: str(v) for k, v in fields.items()}}
        set_metadata(graph, ModelMetadata.from_props(props))
        onnx.save(graph, str(folder / f"{name}.onnx"))
    (folder / "summer2winter.md").write_text(
        "# summer2winter\n\n## Known limits\n\nUntrained: noise in, noise out.\n"
    )
    return folder


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_http(url: str, proc: subprocess.Popen | None, log: Path | None, timeout=90.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            pytest.fail(f"the app exited with {proc.returncode}:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    pytest.fail(f"the app did not answer on {url} within {timeout:.0f} s")


@pytest.fixture(scope="module")
def models_dir(tmp_path_factory) -> Path:
    return write_models(tmp_path_factory.mktemp("app") / "models")


@pytest.fixture(scope="module")
def server(models_dir, tmp_path_factory):
    """``translate app`` in a subprocess; yields its URL."""
    port = free_port()
    log = tmp_path_factory.mktemp("app-log") / "app.log"
    env = dict(os.environ, GRADIO_ANALYTICS_ENABLED="False", HF_HUB_DISABLE_TELEMETRY="1")
    cmd = [
        sys.executable, "-m", "translate", "app", "--models", str(models_dir),
        "--port", str(port), "--threads", "1", "--max-pixels", str(MAX_PIXELS),
        "--max-file-size", "2mb",
    ]  # fmt: skip
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    try:
        wait_for_http(url, proc, log)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(scope="module")
def client(server):
    return Client(server, verbose=False)


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("uploads")
    paths = {}
    photo = Image.new("RGB", (50, 38), (90, 160, 60))
    ImageDraw.Draw(photo).ellipse((10, 5, 40, 30), fill=(200, 200, 255))
    paths["photo"] = d / "meadow.png"
    photo.save(paths["photo"])
    sketch = Image.new("RGBA", (64, 64), (0, 0, 0, 0))
    ImageDraw.Draw(sketch).line((5, 5, 60, 50), fill=(0, 0, 0, 255), width=3)
    paths["sketch"] = d / "sketch.png"
    sketch.save(paths["sketch"])
    paths["blank"] = d / "blank.png"
    Image.new("RGBA", (64, 64), (0, 0, 0, 0)).save(paths["blank"])
    paths["text"] = d / "holiday.jpg"
    paths["text"].write_text("this is not a JPEG")
    paths["huge"] = d / "panorama.png"  # 50 megapixels, a few hundred KB on disk
    Image.new("L", (8000, 6250), 128).save(paths["huge"])
    paths["bomb"] = d / "bomb.png"  # beyond Pillow's decompression-bomb limit
    Image.new("1", (10000, 10000), 1).save(paths["bomb"])
    paths["oversize"] = d / "oversize.png"  # beyond the served app's 2 MB upload limit
    paths["oversize"].write_bytes(os.urandom(3_000_000))
    paths["zip"] = d / "more.zip"
    with zipfile.ZipFile(paths["zip"], "w") as zf:
        buf = io.BytesIO()
        photo.rotate(90, expand=True).save(buf, "PNG")
        zf.writestr("trip/rotated.png", buf.getvalue())
        zf.writestr("notes.txt", "not an image")
        zf.writestr("../escape.png", buf.getvalue())
    return paths


def sketch_value(path: Path) -> dict:
    return {"background": None, "layers": [handle_file(path)], "composite": handle_file(path),
            "id": None}  # fmt: skip


def opened(path) -> Image.Image:
    with Image.open(path) as im:
        im.load()
        return im


# --------------------------------------------------------------------------------------------
# gradio_client


def test_each_tab_returns_an_image_of_the_right_size(client, files):
    out, note = client.predict(
        handle_file(files["photo"]), "summer2winter", "original", api_name="/season"
    )
    assert opened(out).size == (50, 38)  # original size kept, not a multiple of 4
    assert Path(out).name == "meadow-summer2winter.png"  # what "download" saves
    assert "summer → winter" in note
    out, _ = client.predict(handle_file(files["photo"]), "winter2summer", "model",
                            api_name="/season")  # fmt: skip
    assert opened(out).size == (42, SIZE)  # shorter side at the model's size, aspect kept
    out, _ = client.predict(handle_file(files["photo"]), "photo2monet", "original",
                            api_name="/style")  # fmt: skip
    assert opened(out).size == (50, 38) and opened(out).format == "PNG"
    out, note = client.predict(sketch_value(files["sketch"]), "sketch2photo", "model",
                               api_name="/sketch")  # fmt: skip
    result = opened(out)
    assert result.size == (SIZE, SIZE) and result.mode == "RGB"  # strokes flattened on white
    assert "edge sketch → shoe photo" in note and "thinned" in note


def test_batch_converts_files_and_zips_and_reports_bad_ones(client, files):
    uploads = [handle_file(files[k]) for k in ("photo", "text", "zip")]
    gallery, archive, summary = client.predict(uploads, "photo2monet", "original",
                                               api_name="/batch")  # fmt: skip
    sizes = sorted(opened(item["image"]).size for item in gallery)
    assert sizes == [(38, 50), (50, 38)]
    with zipfile.ZipFile(archive) as zf:
        names = sorted(zf.namelist())
    assert names == ["meadow.png", "more/trip/rotated.png"]
    assert "Converted 2" in summary and "failed 1" in summary
    assert "holiday.jpg" in summary  # the unreadable upload is named
    assert "escape.png" in summary and "notes.txt" in summary  # skipped zip members too


def test_bad_uploads_get_a_readable_message(client, files):
    def error_of(*args, api_name):
        with pytest.raises(Exception) as info:
            client.predict(*args, api_name=api_name)
        return str(info.value)

    msg = error_of(handle_file(files["text"]), "photo2monet", "original", api_name="/style")
    assert "holiday.jpg" in msg and "not an image" in msg
    msg = error_of(handle_file(files["bomb"]), "photo2monet", "original", api_name="/style")
    assert "bomb.png" in msg and "too large" in msg
    msg = error_of(sketch_value(files["blank"]), "sketch2photo", "model", api_name="/sketch")
    assert "canvas is empty" in msg
    # The model is a name from the app's list, never a path.
    msg = error_of(handle_file(files["photo"]), "../models/photo2monet", "original",
                   api_name="/style")  # fmt: skip
    assert "photo2monet" in msg and "Traceback" not in msg
    msg = error_of(handle_file(files["oversize"]), "photo2monet", "original", api_name="/style")
    assert "oversize.png exceeds the maximum file size" in msg


def test_the_server_refuses_uploads_over_the_limit(server, files):
    import httpx  # a Gradio dependency

    data = files["oversize"].read_bytes()
    r = httpx.post(f"{server}gradio_api/upload", files={"files": ("big.png", data)}, timeout=30)
    assert r.status_code == 413 and "size" in r.text


def test_very_large_image_is_downscaled_with_a_note(client, files):
    out, note = client.predict(handle_file(files["huge"]), "summer2winter", "original",
                               api_name="/season")  # fmt: skip
    w, h = opened(out).size
    assert w * h <= MAX_PIXELS and abs(w / h - 8000 / 6250) < 0.01
    assert "Downscaled from 8000×6250" in note


def test_twenty_simultaneous_requests_are_all_answered(client, files):
    models = ["summer2winter", "winter2summer", "photo2monet"]
    jobs = [
        client.submit(handle_file(files["photo"]), models[i % 3], "original",
                      api_name="/style" if models[i % 3] == "photo2monet" else "/season")
        for i in range(20)
    ]  # fmt: skip
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda job: job.result(timeout=120), jobs))
    assert [opened(out).size for out, _ in results] == [(50, 38)] * 20


def test_only_examples_and_gradio_cache_are_served(server, models_dir):
    def status(path) -> int:
        try:
            with urllib.request.urlopen(f"{server}gradio_api/file={path}", timeout=10) as r:
                return r.status
        except urllib.error.HTTPError as e:
            return e.code

    assert status(ROOT / "apps" / "examples" / "winter-trees.jpg") == 200
    assert status(models_dir / "photo2monet.onnx") == 403
    assert status(ROOT / "pyproject.toml") == 403
    assert status("/etc/passwd") == 403


# --------------------------------------------------------------------------------------------
# browser


@pytest.fixture(scope="module")
def browser():
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def test_browser_draw_translate_and_screenshot(server, browser):
    ARTIFACTS.mkdir(exist_ok=True)
    page = browser.new_page(viewport={"width": 1440, "height": 900})
    outside = []
    page.on(
        "request",
        lambda r: outside.append(r.url)
        if not r.url.startswith((server, "data:", "blob:")) else None,
    )  # fmt: skip
    page.goto(server)
    sketchpad = page.locator("#sketch-input")
    sketchpad.get_by_role("button", name="Brush").click()
    box = sketchpad.locator("canvas").first.bounding_box()
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    for (x0, y0), (x1, y1) in [((-80, -60), (80, -60)), ((-80, -60), (0, 70)),
                               ((80, -60), (0, 70))]:  # fmt: skip
        page.mouse.move(cx + x0, cy + y0)
        page.mouse.down()
        page.mouse.move(cx + x1, cy + y1, steps=4)
        page.mouse.up()
    page.locator("#sketch-translate").click()
    result = page.locator("#sketch-result img")
    result.wait_for(state="visible", timeout=60_000)
    page.wait_for_function(
        "img => img.complete && img.naturalWidth > 0", arg=result.element_handle()
    )
    png = page.request.get(result.get_attribute("src")).body()
    assert "model sketch2photo:" in page.locator("#sketch-note").inner_text()
    page.screenshot(path=str(ARTIFACTS / "app-sketch.png"), full_page=True)
    page.get_by_role("tab", name="Season transfer").click()
    page.get_by_text("Known limits").first.wait_for(state="visible")
    page.screenshot(path=str(ARTIFACTS / "app-season.png"), full_page=True)
    page.close()
    drawn = Image.open(io.BytesIO(png))
    assert drawn.size == (SIZE, SIZE)
    lo, hi = drawn.convert("L").getextrema()
    assert hi > lo  # a real picture, not a blank placeholder
    assert not outside, f"the page requested files from elsewhere: {outside}"


def picker_label(name: str) -> str:
    """What the model picker shows for a model of MODELS."""
    m = MODELS[name]
    int8 = " (int8)" if m.get("precision") == "int8" else ""
    return f"{m['source_domain']} → {m['target_domain']}{int8}"


def wait_until_redrawn(locator, before: bytes, timeout: float = 30.0) -> None:
    """Wait until ``locator`` looks different from ``before`` and has settled. A clicked
    example takes seconds to reach the sketch canvas (software WebGL), and Translate pressed
    before then sends the previous drawing."""
    deadline = time.monotonic() + timeout
    last = before
    while True:
        now = locator.screenshot()
        if now != before and now == last:
            return
        if time.monotonic() > deadline:
            pytest.fail("the clicked example never showed up in the input")
        last = now
        time.sleep(0.2)


def test_browser_every_example_selects_and_runs_its_model(server, browser):
    """Issue #11: each tab opens on the model its first example (and the canvas) needs; clicking
    any example selects that example's model too, and Translate runs it and shows a result."""
    ARTIFACTS.mkdir(exist_ok=True)
    page = browser.new_page(viewport={"width": 1440, "height": 1000})
    page.goto(server)
    defaults, selected, ran = {}, {}, {}
    for key, (title, _, models) in PAGE.items():
        page.get_by_role("tab", name=title).click()
        picker = page.locator(f"#{key}-model input")
        defaults[key] = picker.input_value()
        thumbs = page.locator(f"#{key}-examples img")  # a table or a gallery of examples
        thumbs.first.wait_for()
        files = [src.rsplit("/", 1)[-1] for src in thumbs.evaluate_all("i => i.map(i => i.src)")]
        assert sorted(files) == sorted(models), f"the {title} tab's examples"
        source, result = page.locator(f"#{key}-input"), page.locator(f"#{key}-result img")
        for i, file in enumerate(files):
            before = source.screenshot()
            thumbs.nth(i).click()
            wait_until_redrawn(source, before)
            selected[file] = picker.input_value()
            previous = result.get_attribute("src") if result.count() else None
            page.locator(f"#{key}-translate").click()
            page.wait_for_function(
                """([sel, previous]) => {
                    const img = document.querySelector(sel);
                    return img && img.src !== previous && img.complete && img.naturalWidth > 0;
                }""",
                arg=[f"#{key}-result img", previous],
                timeout=60_000,
            )
            note = page.locator(f"#{key}-note").inner_text()
            named = re.search(r"model (\S+):", note)
            ran[file] = named.group(1) if named else note
        page.screenshot(path=str(ARTIFACTS / f"app-examples-{key}.png"), full_page=True)
    page.close()
    assert defaults == {key: picker_label(default) for key, (_, default, _) in PAGE.items()}
    expected = {file: name for _, _, models in PAGE.values() for file, name in models.items()}
    assert selected == {file: picker_label(name) for file, name in expected.items()}
    assert ran == expected
