#!/usr/bin/env python3
"""How strongly a SeTokim's projector weighs each part of the token-geometry descriptor: the norm of
the columns of `multi_modal_projector.geometry.weight` (256 × 90) per part (docs/design/llm.md).
A part whose columns are near zero does not reach the visual embeddings at all.

    python3 scripts/geometry-weights.py [MODEL_DIR]   (default resources/models/setokim-small)
"""
import json
import math
import struct
import sys

PARTS = [("mean colour", 0, 3), ("object colour", 3, 6), ("colour spread", 6, 9), ("centroid x", 9, 10),
         ("centroid y", 10, 11), ("spread x, y", 11, 13), ("sqrt area", 13, 14), ("box", 14, 18), ("fill", 18, 19),
         ("colour around", 19, 22), ("object shares, aspect, fill", 22, 26), ("silhouette 8 x 8", 26, 90)]


def main():
    path = (sys.argv[1] if len(sys.argv) > 1 else "resources/models/setokim-small") + "/model.safetensors"
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        t = header.get("multi_modal_projector.geometry.weight")
        if t is None:
            sys.exit(f"{path}: no token geometry layer")
        fmt = {"F16": "e", "F32": "f"}.get(t["dtype"])
        if fmt is None:
            sys.exit(f"{path}: geometry weights are {t['dtype']}, expected F16 or F32")
        begin, end = t["data_offsets"]
        f.seek(8 + n + begin)
        raw = f.read(end - begin)
    rows, cols = t["shape"]
    w = struct.unpack(f"<{rows * cols}{fmt}", raw)
    norm = [math.sqrt(sum(w[r * cols + c] ** 2 for r in range(rows))) for c in range(cols)]
    for name, a, b in PARTS:
        print(f"{name:30s} mean column norm {sum(norm[a:b]) / (b - a):6.2f}")


if __name__ == "__main__":
    main()
