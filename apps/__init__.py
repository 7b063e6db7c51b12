"""The web app (``translate app``): Gradio pages over the ONNX models in ``models/``."""
