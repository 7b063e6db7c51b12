"""translate: image-to-image translation with pix2pix and CycleGAN.

Train on your folders, export to ONNX with the configuration inside, serve in a Gradio app and
batch-convert folders. See README.md for the data flow.
"""

__version__ = "0.1.0"
