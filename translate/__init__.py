"""translate: image-to-image translation with pix2pix and CycleGAN.

Train on your folders, export to ONNX with the configuration inside, serve in a Gradio app and
batch-convert folders. See README.md for the data flow.
"""

__version__ = "0.1.0"


def __getattr__(name: str):
    # ``translate.Translator`` without importing the engine (and its backends) for every command.
    if name == "Translator":
        from .runtime.inference import Translator

        return Translator
    raise AttributeError(f"module 'translate' has no attribute {name!r}")
