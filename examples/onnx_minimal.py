"""Run a `translate` ONNX model with nothing but onnxruntime, numpy and Pillow.

    python onnx_minimal.py MODEL.onnx INPUT_IMAGE OUTPUT_IMAGE

Everything the model needs is stored in the file's metadata: the number of input channels, the
value range of inputs and outputs, and the size multiple and minimum that image sides must have.
This script reads them, so it works unchanged for every exported model.
"""

import json
import sys

import numpy as np
import onnxruntime as ort
from PIL import Image, ImageOps


def translate_image(model_path: str, image: Image.Image) -> Image.Image:
    session = ort.InferenceSession(model_path, providers=["CPUExecutionProvider"])
    meta = session.get_modelmeta().custom_metadata_map
    channels = int(meta.get("input_nc", "3"))
    low, high = json.loads(meta.get("value_range", "[-1, 1]"))
    multiple = int(meta.get("size_multiple", "1"))
    minimum = int(meta.get("min_size", "1"))  # the network's own reflect pads need this much

    # Pre-processing: RGB (or grayscale) -> float32 NCHW in [low, high].
    pixels = np.asarray(image.convert("RGB" if channels == 3 else "L"), dtype=np.float32)
    if pixels.ndim == 2:
        pixels = pixels[:, :, None]
    x = pixels.transpose(2, 0, 1)[None] / 255.0 * (high - low) + low
    # Pad the sides by reflection to the size multiple, and to at least the minimum size; the
    # padding is cropped off afterwards.
    height, width = x.shape[2:]
    padded = [-(-max(side, minimum) // multiple) * multiple for side in (height, width)]
    x = np.pad(x, ((0, 0), (0, 0), (0, padded[0] - height), (0, padded[1] - width)), "reflect")

    input_name = session.get_inputs()[0].name
    y = session.run(None, {input_name: x.astype(np.float32)})[0][0, :, :height, :width]

    # Post-processing: [low, high] -> 8-bit image.
    out = np.clip((y - low) / (high - low) * 255.0 + 0.5, 0, 255).astype(np.uint8)
    return Image.fromarray(out[0] if out.shape[0] == 1 else out.transpose(1, 2, 0))


def main() -> int:
    if len(sys.argv) != 4:
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    model_path, input_path, output_path = sys.argv[1:]
    image = ImageOps.exif_transpose(Image.open(input_path))
    translate_image(model_path, image).save(output_path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
