"""The web app: sketch -> photo on a drawing canvas, style and season transfer on uploads, and
batch conversion, over the ONNX models in ``models/`` (``translate app`` / ``make app``).

``build_app(models_dir)`` returns the Blocks (queue configured); ``launch(config)`` serves it with
the upload limit, the narrow ``allowed_paths`` and the theme. Every model runs through
:class:`translate.runtime.inference.Translator` (loaded once per model, see
:mod:`translate.apps.pool`), and the Batch tab is :func:`translate.runtime.convert.convert` on the
uploaded files.
"""

from __future__ import annotations

import os

# Offline by default: no analytics or version check unless the user opts in (set before the
# first gr.Blocks is created).
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

import atexit
import contextlib
import logging
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import gradio as gr
from PIL import Image

from translate.runtime.catalog import default_models_dir
from translate.runtime.edges import normalize_sketch
from translate.runtime.images import ImageReadError, load_image, save_image, to_mode
from translate.runtime.inference import target_size

from .pool import ModelChoice, ModelPool, UnknownModelError
from .uploads import BatchError, BatchLimits, SizeLimits, gather_batch, plan_image, zip_folder

log = logging.getLogger("translate.app")

APP_DIR = Path(__file__).resolve().parent
EXAMPLES_DIR = APP_DIR / "examples"

THEME = gr.themes.Soft(primary_hue="indigo", secondary_hue="sky", neutral_hue="slate")
CSS = """
.app-header h1 { margin-bottom: 0.1em; }
.app-header p { margin-top: 0; opacity: 0.8; }
.model-card { font-size: 0.92em; }
.run-note { min-height: 1.5em; font-size: 0.92em; }
.fit-image img { width: 100%; height: 100%; object-fit: contain; }
.app-footer { font-size: 0.85em; opacity: 0.75; }
"""


@dataclass
class AppConfig:
    """Everything ``translate app`` can set; the defaults are what ``make app`` serves."""

    models_dir: Path | None = None  # None: translate.runtime.catalog.default_models_dir()
    host: str = "127.0.0.1"
    port: int = 7860
    share: bool = False  # a public gradio.live link; never on unless asked
    max_file_size: str = "20mb"  # per upload, enforced by Gradio
    concurrency: int = 1  # requests that may run the same model at once
    queue_size: int = 64  # requests waiting beyond that are refused ("queue full")
    backend: str = "auto"  # Translator backend
    threads: int | None = None  # Translator threads (None: its default)
    sizes: SizeLimits = field(default_factory=SizeLimits)
    batch: BatchLimits = field(default_factory=BatchLimits)
    results_max_age_s: int = 3600  # result files (PNGs, batch zips) are deleted after this


@dataclass(frozen=True)
class Example:
    """An example input and what kind of input it is. The model it runs through is read off the
    models' metadata (:meth:`ModelPool.fitting`), so the right one is picked from any models
    folder, and clicking the example selects that model along with the image."""

    file: str  # in apps/examples
    task: str | None = None  # the model task it is an input of; None: any of the tab's
    domain: str | None = None  # the models' source_domain it fits; None: any


@dataclass(frozen=True)
class TabSpec:
    key: str  # also the API endpoint name, e.g. /sketch
    title: str
    tasks: tuple[str, ...]  # model metadata tasks listed in this tab, the preferred one first
    intro: str
    examples: tuple[Example, ...]  # the first one with a model sets the tab's default model
    always: bool = True  # shown (with how to get a model) even when no model has these tasks


TABS = (
    TabSpec(
        "sketch",
        "Sketch → Photo",
        ("sketch-to-photo", "labels-to-photo"),
        "Pick the **Brush** and draw (black lines on white, like the examples), or upload a "
        "sketch or label map, then press **Translate**.",
        (
            Example("sketch-shoe.png", task="sketch-to-photo"),
            Example("sketch-sneaker.png", task="sketch-to-photo"),
            Example("labels-facade.png", task="labels-to-photo"),
        ),
    ),
    TabSpec(
        "style",
        "Style transfer",
        ("style",),
        "Upload a photo and pick a style. Painting → photo models go the other way.",
        (
            Example("photo-avenue.jpg", domain="photo"),
            Example("photo-beach.jpg", domain="photo"),
            Example("monet-water-lilies.jpg", domain="Monet painting"),
        ),
    ),
    TabSpec(
        "season",
        "Season transfer",
        ("season",),
        "Upload a landscape and pick summer → winter or winter → summer.",
        (
            Example("summer-el-capitan.jpg", domain="summer"),
            Example("summer-waterfall.jpg", domain="summer"),
            Example("winter-trees.jpg", domain="winter"),
        ),
    ),
    TabSpec(
        "general",
        "Other models",
        ("general",),
        "Models whose metadata names no specific task.",
        (Example("photo-avenue.jpg"), Example("summer-el-capitan.jpg")),
        always=False,
    ),
)

# Gradio mirrors convert's tqdm bar into the page when a handler has this as a default argument.
TQDM_PROGRESS = gr.Progress(track_tqdm=True)
SIZE_CHOICES = [("Original size", "original"), ("Model's training size", "model")]


def how_to_get_models(models_dir: Path) -> str:
    """The page's banner when ``models_dir`` holds no usable model."""
    return (
        f"### No models found\nThe app serves the ONNX models in `{models_dir}`. Export one "
        "there and restart the app:\n\n"
        f"- from a training run: `translate export runs/NAME -o {models_dir}/NAME.onnx "
        "--task season`\n"
        "- from an official pix2pix/CycleGAN checkpoint: `translate export latest_net_G.pth "
        f"--arch resnet_9blocks -o {models_dir}/NAME.onnx --task style --source-domain photo "
        "--target-domain Monet`\n\n"
        "`--task` picks the tab: sketch-to-photo or labels-to-photo (Sketch → Photo), style, "
        "season. `translate info` lists the models it finds; the README explains training."
    )


def how_to_fill_tab(models_dir: Path, tasks: tuple[str, ...], any_models: bool) -> str:
    """What an empty tab says instead of showing controls that cannot run."""
    if not any_models:
        return "Nothing to run here yet: see **No models found** above."
    return (
        f"No model for this tab in `{models_dir}` yet. Export one with "
        f"`--task {tasks[0]}`: `translate export runs/NAME -o {models_dir}/NAME.onnx "
        f"--task {tasks[0]}`, then restart the app."
    )


def _device_line() -> str:
    try:
        import onnxruntime as ort

        cuda = "CUDAExecutionProvider" in ort.get_available_providers()
    except ImportError:
        cuda = False
    return "GPU (CUDA)" if cuda else "CPU"


class AppLogic:
    """The event handlers, separate from the layout so they read as plain functions."""

    def __init__(self, pool: ModelPool, config: AppConfig):
        self.pool = pool
        self.config = config
        self.work_root = Path(tempfile.mkdtemp(prefix="translate-app-"))
        atexit.register(shutil.rmtree, self.work_root, True)

    # -- single images ------------------------------------------------------------------

    def card(self, name: str | None):
        """The model card outputs (summary, full-card accordion, full card) for a picked model."""
        choice = self.pool.models.get(name)
        if choice is None:
            return "", gr.update(visible=False), ""
        return choice.summary(), gr.update(visible=bool(choice.card_text)), choice.card_text

    def _run(self, img: Image.Image, name: str, size_mode: str, stem: str, *notes: str):
        """Translate one image; returns (path of the PNG result, note for the page)."""
        choice = self.pool.get(name)
        native = size_mode != "model"
        plan = plan_image(img, self.config.sizes, native)
        size = None if native else choice.meta.recommended_size
        with self.pool.use(name) as translator:
            start = time.perf_counter()
            out = translator(plan.image, size=size, tile=plan.tile, overlap=plan.overlap)
            seconds = time.perf_counter() - start
            ran_on = f"{translator.backend_name}, {translator.device}"
        note = (
            f"{choice.title} · model `{name}`: {out.width}×{out.height} px in {seconds:.2f} s "
            f"({ran_on})."
        )
        return self._save_result(out, f"{stem}-{name}"), " ".join([note, *notes, *plan.notes])

    def _save_result(self, img: Image.Image, stem: str) -> str:
        """Write a result as PNG in a folder of its own and hand Gradio the path.

        Returning the PIL image instead lets Gradio 6.31 write it to a path named by its
        content hash, non-atomically: two requests with the same result (two users on the same
        example) then race, and one download comes back truncated. Files are copied into the
        cache atomically. The PNG is also what "download" gives, under a telling name."""
        self._prune_results()
        folder = Path(tempfile.mkdtemp(prefix="result-", dir=self.work_root))
        return str(save_image(img, folder / f"{stem}.png"))

    def translate_upload(self, image: dict | None, model: str, output_size: str):
        """An uploaded photo. Runs with ``preprocess=False``: Gradio has already checked that the
        file is in its upload folder, and load_image decodes it, so a corrupt or non-image file
        gets a readable message instead of Gradio's bare "Error"."""
        with _user_errors():
            if not image or not image.get("path"):
                raise gr.Error("Upload an image first (or click one of the examples).")
            label = image.get("orig_name") or Path(image["path"]).name
            img = load_image(image["path"], name=label)
            return self._run(img, model, output_size, Path(label).stem)

    def translate_sketch(self, sketch: dict | None, model: str, output_size: str):
        with _user_errors():
            composite = (sketch or {}).get("composite")
            if composite is None:
                raise gr.Error("The canvas is empty: draw with the brush or upload a sketch.")
            # Strokes are drawn on a transparent layer: flatten on white paper, drop alpha.
            paper = to_mode(composite, 3)
            if paper.convert("L").getextrema()[0] >= 250:
                raise gr.Error("The canvas is empty: draw with the brush or upload a sketch.")
            meta = self.pool.get(model).meta
            if meta.task != "sketch-to-photo":  # e.g. a label map: colours are the input
                return self._run(paper, model, output_size, "drawing")
            # Sketch models learnt from 1-px edge sketches (translate edges): thin the strokes
            # to that style at the size the model will run at.
            size = None
            if output_size == "model":
                size = target_size(paper.size, meta.recommended_size)
            drawing = normalize_sketch(composite, size=size)
            return self._run(
                drawing, model, output_size, "sketch", "Strokes thinned to 1 px first."
            )

    # -- batch ------------------------------------------------------------------------------

    def run_batch(self, files, model: str, output_size: str, progress=TQDM_PROGRESS):
        from translate.runtime.convert import ConvertConfig, convert

        with _user_errors():
            if not files:
                raise gr.Error("Upload some images (or a zip of images) first.")
            choice = self.pool.get(model)
            self._prune_results()
            work = Path(tempfile.mkdtemp(prefix="batch-", dir=self.work_root))
            in_dir, out_dir = work / "input", work / "output"
            native = output_size != "model"
            cfg = ConvertConfig(
                size=None if native else choice.meta.recommended_size,
                tile=self.config.sizes.batch_tile if native else None,
                overlap=self.config.sizes.overlap,
                format="png",
                recursive=True,
            )
            try:
                notes = gather_batch([str(f) for f in files], in_dir, self.config.batch)
                with self.pool.use(model) as translator:
                    report = convert(translator, in_dir, out_dir, cfg, progress=True)
                summary = _batch_summary(report, in_dir, notes)
            finally:
                shutil.rmtree(in_dir, ignore_errors=True)
            outputs = [Path(p) for p in report.outputs]
            zip_path = None
            if outputs:
                zip_path = zip_folder(out_dir, work / f"{model}-results.zip", outputs)
            gallery = [(str(p), p.relative_to(out_dir).as_posix()) for p in outputs]
            return gallery, (str(zip_path) if zip_path else None), summary

    def _prune_results(self) -> None:
        cutoff = time.time() - self.config.results_max_age_s
        for d in self.work_root.iterdir():
            with contextlib.suppress(FileNotFoundError):  # another request pruned it first
                if d.stat().st_mtime < cutoff:
                    shutil.rmtree(d, ignore_errors=True)


def _relative(path, folder: Path) -> str:
    try:
        return Path(path).relative_to(folder).as_posix()
    except ValueError:
        return Path(path).name


def _batch_summary(report, in_dir: Path, notes: list[str], shown: int = 12) -> str:
    lines = [f"**Converted {report.converted}**, failed {len(report.failed)}."]
    problems = [f"{_relative(p, in_dir)}: {why}" for p, why in report.failed] + notes
    for p in problems[:shown]:
        lines.append(f"- {p}")
    if len(problems) > shown:
        lines.append(f"- … and {len(problems) - shown} more")
    return "\n".join(lines)


@contextlib.contextmanager
def _user_errors():
    """Turn the errors a user can cause into gr.Error (shown in the page, no stack trace); log
    anything unexpected and show a one-line message instead of Gradio's bare "Error"."""
    try:
        yield
    except gr.Error:
        raise
    except (ImageReadError, UnknownModelError, BatchError) as e:
        raise gr.Error(str(e)) from e
    except Exception as e:
        log.exception("translation failed")
        raise gr.Error(f"Translation failed: {e}") from e


def _model_controls(
    key: str, pool: ModelPool, tasks: tuple[str, ...] | None, default_size: str, first: ModelChoice
):
    """Model picker (on ``first``) with its card, and the output-size choice."""
    model = gr.Dropdown(
        pool.choices(tasks),
        value=first.name,
        label="Model",
        interactive=True,
        filterable=False,
        elem_id=f"{key}-model",
    )
    card = gr.Markdown(first.summary(), elem_classes="model-card")
    with gr.Accordion("Full model card", open=False, visible=bool(first.card_text)) as card_box:
        full_card = gr.Markdown(first.card_text)
    size = gr.Radio(
        SIZE_CHOICES,
        value=default_size,
        label="Output size",
        info="Original keeps your image's size (large images run in tiles).",
    )
    return model, size, (card, card_box, full_card)


def tab_examples(spec: TabSpec, pool: ModelPool) -> list[tuple[Path, ModelChoice]]:
    """The tab's examples with the model each runs through; one that no model fits is left
    out rather than shown with a model that would turn it into noise."""
    shown = []
    for ex in spec.examples:
        choice = pool.fitting((ex.task,) if ex.task else spec.tasks, ex.domain)
        if choice is not None and (EXAMPLES_DIR / ex.file).is_file():
            shown.append((EXAMPLES_DIR / ex.file, choice))
    return shown


def _examples(key: str, examples: list[tuple[Path, ModelChoice]], source, model) -> None:
    if examples:
        gr.Examples(
            [[str(path), choice.name] for path, choice in examples],
            inputs=[source, model],
            label="Examples",
            elem_id=f"{key}-examples",
        )


def build_app(models_dir: str | Path | None = None, config: AppConfig | None = None) -> gr.Blocks:
    """The app's Blocks, queue included; serve it with :func:`launch` (or ``demo.launch``)."""
    config = config or AppConfig()
    folder = Path(models_dir or config.models_dir or default_models_dir())
    pool = ModelPool(
        folder, concurrency=config.concurrency, backend=config.backend, threads=config.threads
    )
    logic = AppLogic(pool, config)
    analytics = os.environ.get("GRADIO_ANALYTICS_ENABLED", "False").lower() == "true"

    with gr.Blocks(
        title="translate: image-to-image translation",
        analytics_enabled=analytics,
        delete_cache=(1800, config.results_max_age_s),
    ) as demo:
        with gr.Column(elem_classes="app-header"):
            gr.Markdown(
                "# translate — image-to-image translation\n"
                "Turn sketches into photos, photos into paintings, summer into winter. "
                "pix2pix and CycleGAN models, running on this machine."
            )
        if not len(pool):
            gr.Markdown(how_to_get_models(folder))
        for problem in pool.problems:
            gr.Markdown(f"Skipped `{problem}`")

        with gr.Tabs():
            for spec in TABS:
                if not spec.always and not pool.for_tasks(spec.tasks):
                    continue
                with gr.Tab(spec.title, id=spec.key):
                    _single_tab(spec, pool, logic, folder)
            with gr.Tab("Batch", id="batch"):
                _batch_tab(pool, logic, folder)

        gr.Markdown(
            f"Running on {_device_line()} · {len(pool)} model(s) from `{folder}` · images stay "
            "on this machine. Convert whole folders from the command line with "
            "`translate convert MODEL INPUT OUTPUT`.",
            elem_classes="app-footer",
        )
    demo.queue(max_size=config.queue_size, default_concurrency_limit=config.concurrency)
    return demo


def _single_tab(spec: TabSpec, pool: ModelPool, logic: AppLogic, folder: Path):
    if not pool.for_tasks(spec.tasks):
        gr.Markdown(how_to_fill_tab(folder, spec.tasks, bool(len(pool))))
        return
    gr.Markdown(spec.intro)
    sketch = spec.key == "sketch"
    examples = tab_examples(spec, pool)
    # The tab opens on its first example's model, so the first thing a new user tries works (on
    # the Sketch tab, the canvas gets a sketch model).
    first = examples[0][1] if examples else pool.fitting(spec.tasks)
    with gr.Row(equal_height=False):
        with gr.Column(scale=1, min_width=260):
            model, size, card_outputs = _model_controls(
                spec.key, pool, spec.tasks, "model" if sketch else "original", first
            )
            button = gr.Button(
                "Translate", variant="primary", size="lg", elem_id=f"{spec.key}-translate"
            )
        with gr.Column(scale=2, min_width=320):
            if sketch:
                source = gr.Sketchpad(
                    label="Your sketch",
                    type="pil",
                    image_mode="RGBA",
                    canvas_size=(512, 512),
                    fixed_canvas=True,
                    sources=["upload", "clipboard"],
                    brush=gr.Brush(default_size=4, colors=["#000000"], color_mode="defaults"),
                    eraser=gr.Eraser(default_size=16),
                    layers=False,
                    transforms=(),
                    height=460,
                    elem_id="sketch-input",
                )
            else:
                source = gr.Image(
                    label="Your photo",
                    type="filepath",
                    sources=["upload", "clipboard"],
                    height=420,
                    elem_id=f"{spec.key}-input",
                    elem_classes="fit-image",
                )
            _examples(spec.key, examples, source, model)
        with gr.Column(scale=2, min_width=320):
            result = gr.Image(
                label="Result",
                format="png",
                interactive=False,
                buttons=["download", "fullscreen"],
                height=460 if sketch else 420,
                elem_id=f"{spec.key}-result",
                elem_classes="fit-image",
            )
            note = gr.Markdown(elem_classes="run-note", elem_id=f"{spec.key}-note")
    concurrency = max(1, len(pool.for_tasks(spec.tasks))) * logic.config.concurrency
    button.click(
        logic.translate_sketch if sketch else logic.translate_upload,
        inputs=[source, model, size],
        outputs=[result, note],
        api_name=spec.key,
        concurrency_limit=concurrency,
        # Uploads are decoded by translate.runtime.images (see AppLogic.translate_upload).
        preprocess=sketch,
    )
    model.change(logic.card, inputs=model, outputs=card_outputs, api_visibility="private")


def _batch_tab(pool: ModelPool, logic: AppLogic, folder: Path):
    if not len(pool):
        gr.Markdown(how_to_fill_tab(folder, (), any_models=False))
        return
    gr.Markdown(
        "Translate many images at once: upload image files or a zip, get a gallery and a zip "
        "of the results (PNG). Unreadable files are listed, the rest still convert."
    )
    with gr.Row(equal_height=False):
        with gr.Column(scale=1, min_width=260):
            model, size, card_outputs = _model_controls(
                "batch", pool, None, "original", pool.fitting(None)
            )
            button = gr.Button("Convert all", variant="primary", size="lg")
        with gr.Column(scale=2, min_width=320):
            files = gr.File(
                label="Images or zip archives",
                file_count="multiple",
                file_types=["image", ".zip"],
                type="filepath",
            )
            summary = gr.Markdown(elem_classes="run-note")
            archive = gr.File(label="All results (zip)", interactive=False)
        with gr.Column(scale=2, min_width=320):
            gallery = gr.Gallery(label="Results", columns=3, height=460, format="png")
    button.click(
        logic.run_batch,
        inputs=[files, model, size],
        outputs=[gallery, archive, summary],
        api_name="batch",
        concurrency_limit=max(1, len(pool)) * logic.config.concurrency,
    )
    model.change(logic.card, inputs=model, outputs=card_outputs, api_visibility="private")


def launch(config: AppConfig | None = None, *, block: bool = True) -> gr.Blocks:
    """Serve the app: local only unless ``config.share``, uploads capped at
    ``config.max_file_size``, and no file served from outside apps/examples and Gradio's
    cache."""
    config = config or AppConfig()
    demo = build_app(config.models_dir, config)
    demo.launch(
        server_name=config.host,
        server_port=config.port,
        share=config.share,
        max_file_size=config.max_file_size,
        allowed_paths=[str(EXAMPLES_DIR)],
        show_error=False,
        prevent_thread_lock=not block,
        ssr_mode=False,
        pwa=False,
        mcp_server=False,
        run_history=False,  # its page offers uploading runs to a Hugging Face bucket
        footer_links=["api", "gradio", "settings"],
        theme=THEME,
        css=CSS,
    )
    return demo


if __name__ == "__main__":
    launch()
