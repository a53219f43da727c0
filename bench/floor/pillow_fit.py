"""Pillow alone on the thumbnail, as thumbor's PIL engine does it (thumbor/engines/pil.py):
draft mode (the JPEG decoder's 1/2, 1/4 or 1/8 scaling), Lanczos to the fitted size, JPEG q80
with optimised Huffman tables. CPU time per image, one image at a time, no server.

    python pillow_fit.py N FILE...   (thumbor's venv: bench/thumbor.sh)
"""

import io
import sys
import time
from pathlib import Path

from PIL import Image

BOX = 300


def fit(data: bytes) -> int:
    image = Image.open(io.BytesIO(data))
    scale = min(BOX / image.width, BOX / image.height)
    size = (round(image.width * scale), round(image.height * scale))
    image.draft(None, size)
    image = image.resize(size, Image.Resampling.LANCZOS)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=80, optimize=True)
    return len(out.getvalue())


def main() -> None:
    n = int(sys.argv[1])
    sources = [Path(path).read_bytes() for path in sys.argv[2:]]
    for data in sources:  # warm-up, as floor.c does
        fit(data)
    start = time.process_time()
    total = sum(fit(sources[i % len(sources)]) for i in range(n))
    ms = (time.process_time() - start) * 1000 / n
    print(f"Pillow {Image.__version__} fit jpeg: {ms:.2f} ms {total // n} bytes")


main()
