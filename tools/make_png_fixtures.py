#!/usr/bin/env python3
"""Writes the PNG conformance fixtures in tests/fixtures/png/ (dev-only; tests never run this).

Usage: python3 tools/make_png_fixtures.py   (needs ImageMagick: apt-get install -y imagemagick,
and Pillow in tools/.venv for the resize references)

Two kinds of files:
  * crafted here with a small stdlib-only PNG writer, so every colour type, bit depth, tRNS form,
    Adam7, each filter type, split and empty IDAT chunks and skippable ancillary chunks are present
    exactly as intended;
  * written by ImageMagick's own encoder (its filter and zlib choices, its ancillary chunks).
For every file the reference pixels come from an independent decoder, ImageMagick (libpng), as raw
RGBA: `<name>.rgba` (8 bits a sample) for sources of 8 bits or fewer, `<name>.rgba16` (16 bits,
big-endian) for 16-bit sources; the test compares round(v / 257) of those exactly. For the crafted
files ImageMagick's pixels must also equal the pixels this script meant to write, or it stops.
manifest.json lists every fixture. resize_src.png and resize_pillow_<filter>_<w>x<h>.rgba are
Pillow's resize of an opaque image, for resizeImage()'s parity test. sniff_8x8.jpg is a JPEG for decodeImage()'s format sniffing.
"""

import json
import os
import shutil
import struct
import subprocess
import sys
import zlib

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures", "png")
ADAM7 = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]
CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}


def find_magick():
    for cmd in (["magick"], ["/usr/bin/convert"], ["convert-im6.q16"], ["convert"]):
        if shutil.which(cmd[0]) is None:
            continue
        try:
            version = subprocess.run(cmd + ["-version"], capture_output=True, text=True).stdout
        except OSError:
            continue
        if "ImageMagick" in version:
            return cmd
    sys.exit("ImageMagick not found: apt-get install -y imagemagick")


MAGICK = find_magick()
VENV_PYTHON = os.path.join(os.path.dirname(os.path.abspath(__file__)), ".venv", "bin", "python")
RESIZE_CASES = [("lanczos3", 13, 9), ("lanczos3", 80, 11), ("lanczos3", 50, 30), ("bicubic", 20, 23),
                ("bicubic", 61, 37), ("bicubic", 9, 40)]
PILLOW_SCRIPT = """
import os, sys
import PIL
from PIL import Image
out = sys.argv[1]
filters = {"lanczos3": Image.Resampling.LANCZOS, "bicubic": Image.Resampling.BICUBIC}
im = Image.open(os.path.join(out, "resize_src.png")).convert("RGBA")
for name, w, h in %r:
    with open(os.path.join(out, f"resize_pillow_{name}_{w}x{h}.rgba"), "wb") as f:
        f.write(im.resize((w, h), filters[name]).tobytes())
print("Pillow " + PIL.__version__)
""" % (RESIZE_CASES,)


class Rng:
    """A small LCG so the fixtures are the same on every run."""

    def __init__(self, seed):
        self.s = seed & 0xFFFFFFFF

    def next(self, n):
        self.s = (self.s * 1664525 + 1013904223) & 0xFFFFFFFF
        return (self.s >> 8) % n


def chunk(kind, data):
    body = kind.encode("ascii") + data
    return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)


def pack_row(samples, depth):
    if depth == 16:
        return b"".join(struct.pack(">H", v) for v in samples)
    if depth == 8:
        return bytes(samples)
    out, acc, bits = bytearray(), 0, 0
    for v in samples:
        acc = (acc << depth) | v
        bits += depth
        if bits == 8:
            out.append(acc)
            acc, bits = 0, 0
    if bits:
        out.append(acc << (8 - bits))
    return bytes(out)


def paeth(a, b, c):
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    return a if pa <= pb and pa <= pc else b if pb <= pc else c


def filter_rows(rows, bpp, mode, seed):
    out, prev = bytearray(), bytes(len(rows[0])) if rows else b""
    for y, row in enumerate(rows):
        ftype = (y + seed) % 5 if mode == "mixed" else mode
        out.append(ftype)
        for i, x in enumerate(row):
            a = row[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            pred = [0, a, b, (a + b) // 2, paeth(a, b, c)][ftype]
            out.append((x - pred) & 255)
        prev = row
    return bytes(out)


def write_png(path, width, height, ct, depth, pixels, interlace=False, filt="mixed", idat_size=None,
              empty_idat=False, palette=None, trns=None, before_idat=b"", after_idat=b""):
    """pixels[y][x] is a tuple of raw samples (one for grey/palette, 2, 3 or 4)."""
    nch = CHANNELS[ct]
    bpp = max(1, nch * depth // 8)
    passes = ADAM7 if interlace else [(0, 0, 1, 1)]
    raw = bytearray()
    for n, (x0, y0, dx, dy) in enumerate(passes):
        xs, ys = range(x0, width, dx), range(y0, height, dy)
        if not xs or not ys:
            continue
        rows = [pack_row([s for x in xs for s in pixels[y][x]], depth) for y in ys]
        raw += filter_rows(rows, bpp, filt, n)
    data = zlib.compress(bytes(raw), 9)
    parts = [data[i:i + idat_size] for i in range(0, len(data), idat_size)] if idat_size else [data]
    if empty_idat:
        parts.insert(1, b"")
    png = b"\x89PNG\r\n\x1a\n" + chunk("IHDR", struct.pack(">IIBBBBB", width, height, depth, ct, 0, 0,
                                                              1 if interlace else 0))
    if palette is not None:
        png += chunk("PLTE", b"".join(bytes(p) for p in palette))
    if trns is not None:
        png += chunk("tRNS", trns)
    png += before_idat + b"".join(chunk("IDAT", p) for p in parts) + after_idat + chunk("IEND", b"")
    with open(path, "wb") as f:
        f.write(png)


def expected_rgba16(width, height, ct, depth, pixels, palette=None, trns=None):
    """The RGBA16 pixels a decoder must produce (the PNG spec's own rules)."""
    scale = 65535 // ((1 << depth) - 1)
    out = bytearray()
    alphas = list(trns) if ct == 3 and trns is not None else []
    key = [struct.unpack(">H", trns[i:i + 2])[0] for i in range(0, len(trns), 2)] if trns and ct in (0, 2) else None
    for y in range(height):
        for x in range(width):
            s = pixels[y][x]
            if ct == 3:
                r, g, b = palette[s[0]]
                rgba = (r * 257, g * 257, b * 257, (alphas[s[0]] if s[0] < len(alphas) else 255) * 257)
            elif ct == 0:
                v = s[0] * scale
                rgba = (v, v, v, 0 if key == [s[0]] else 65535)
            elif ct == 2:
                rgba = tuple(v * scale for v in s) + (0 if key == list(s) else 65535,)
            elif ct == 4:
                rgba = (s[0] * scale,) * 3 + (s[1] * scale,)
            else:
                rgba = tuple(v * scale for v in s)
            out += struct.pack(">HHHH", *rgba)
    return bytes(out)


def magick_rgba(path, depth):
    return subprocess.run(MAGICK + [path, "-depth", str(depth), "-endian", "MSB", "rgba:-"], check=True,
                          capture_output=True).stdout


def pattern(width, height, ct, depth, seed, key=None):
    """Gradients plus noise, so every filter type sees varied neighbours; `key` is sprinkled in."""
    rng, top = Rng(seed), (1 << depth) - 1
    nch = CHANNELS[ct]
    rows = []
    for y in range(height):
        row = []
        for x in range(width):
            if key is not None and rng.next(4) == 0:
                row.append(tuple(key))
                continue
            px = []
            for c in range(nch):
                smooth = ((x * (c + 1) * 37 + y * 53 + c * 71) * top) // (37 * width + 53 * height + 71 * 4)
                v = smooth if rng.next(3) else rng.next(top + 1)
                px.append(min(v, top))
            row.append(tuple(px))
        rows.append(row)
    return rows


manifest = []


def reference(name, width, height, sixteen, description):
    path = os.path.join(OUT, name + ".png")
    ref = magick_rgba(path, 16 if sixteen else 8)
    ext = ".rgba16" if sixteen else ".rgba"
    if len(ref) != width * height * 4 * (2 if sixteen else 1):
        sys.exit(f"{name}: ImageMagick returned {len(ref)} bytes for {width}x{height}")
    with open(os.path.join(OUT, name + ext), "wb") as f:
        f.write(ref)
    manifest.append({"name": name, "width": width, "height": height, "reference": name + ext,
                     "description": description})


def crafted(name, width, height, ct, depth, description, seed=1, palette_size=None, trns_mode=None,
            **kw):
    key, trns, palette = None, None, None
    if ct == 3:
        n = palette_size or (1 << depth)
        rng = Rng(seed * 7 + 3)
        palette = [(rng.next(256), rng.next(256), rng.next(256)) for _ in range(n)]
    if trns_mode == "key":
        top = (1 << depth) - 1
        key = [top // 3] if ct == 0 else [top // 5, top // 2, top]
        trns = b"".join(struct.pack(">H", v) for v in key)
    pixels = pattern(width, height, ct, depth, seed, key)
    if ct == 3:  # indices into the palette (pattern() spans 0..2^depth-1)
        pixels = [[(p[0] % len(palette),) for p in row] for row in pixels]
        if trns_mode == "alpha":
            rng = Rng(seed * 11 + 5)
            trns = bytes(rng.next(256) if i % 3 else 0 for i in range(max(1, len(palette) - 2)))
    path = os.path.join(OUT, name + ".png")
    write_png(path, width, height, ct, depth, pixels, palette=palette, trns=trns, **kw)
    want = expected_rgba16(width, height, ct, depth, pixels, palette, trns)
    got = magick_rgba(path, 16)
    if got != want:
        bad = next(i for i in range(len(want)) if got[i] != want[i]) // 8
        sys.exit(f"{name}: ImageMagick and this script disagree at pixel {bad}")
    reference(name, width, height, depth == 16, description)


def main():
    os.makedirs(OUT, exist_ok=True)
    for f in os.listdir(OUT):
        if not f.startswith("."):  # keep .gitattributes
            os.remove(os.path.join(OUT, f))
    depths = {0: [1, 2, 4, 8, 16], 2: [8, 16], 3: [1, 2, 4, 8], 4: [8, 16], 6: [8, 16]}
    seed = 1
    for ct, ds in depths.items():
        for d in ds:
            seed += 1
            crafted(f"ct{ct}_{d}bit", 16, 9, ct, d, f"colour type {ct}, {d}-bit, mixed filters", seed)
            crafted(f"ct{ct}_{d}bit_adam7", 33, 17, ct, d, f"colour type {ct}, {d}-bit, Adam7",
                    seed + 100, interlace=True)
            if ct in (0, 2):
                crafted(f"ct{ct}_{d}bit_trns", 16, 9, ct, d, f"colour type {ct}, {d}-bit, tRNS key",
                        seed + 200, trns_mode="key", interlace=(d == 16))
            if ct == 3:
                crafted(f"ct3_{d}bit_trns", 16, 9, 3, d, f"palette {d}-bit, tRNS shorter than PLTE",
                        seed + 200, trns_mode="alpha", interlace=(d == 2))
    for ct, d, bpp in ((6, 8, 4), (2, 16, 6), (0, 1, 1), (3, 4, 1)):
        for f in range(5):
            crafted(f"filter{f}_ct{ct}_{d}bit", 16, 9, ct, d,
                    f"every row filter type {f}, colour type {ct}, {d}-bit ({bpp}-byte pixels)",
                    300 + f, filt=f)
    crafted("multi_idat", 33, 17, 6, 8, "IDAT split into 7-byte chunks", 400, idat_size=7)
    crafted("multi_idat_empty_adam7", 33, 17, 0, 16, "Adam7, 1-byte IDAT chunks and an empty one",
            401, interlace=True, idat_size=1, empty_idat=True)
    crafted("size_1x1", 1, 1, 6, 8, "one pixel", 402)
    crafted("size_1x1_adam7", 1, 1, 0, 1, "one 1-bit pixel, Adam7 (6 empty passes)", 403,
            interlace=True)
    crafted("size_7x5_adam7", 7, 5, 3, 4, "7x5 palette, Adam7", 404, palette_size=11,
            interlace=True, trns_mode="alpha")
    crafted("size_33x1", 33, 1, 2, 8, "one row", 405)
    crafted("size_1x17_adam7", 1, 17, 4, 8, "one column, Adam7", 406, interlace=True)
    crafted("size_3x3_adam7", 3, 3, 6, 16, "3x3 RGBA16, Adam7", 407, interlace=True)
    crafted("palette_short", 16, 9, 3, 8, "8-bit palette with 5 entries", 408, palette_size=5)
    text = chunk("tEXt", b"Comment\x00ancillary chunks are skipped") + chunk("prVt", b"\x01\x02\x03")
    crafted("ancillary_chunks", 16, 9, 2, 8, "tEXt, tIME, a private chunk, suggested PLTE, "
            "zTXt between IDATs are skipped", 409,
            before_idat=chunk("tIME", struct.pack(">HBBBBB", 2024, 1, 2, 3, 4, 5)) + text
            + chunk("PLTE", bytes(range(12))),
            after_idat=chunk("zTXt", b"k\x00\x00" + zlib.compress(b"after IDAT")), idat_size=200)

    # Files from ImageMagick's own encoder.
    base = ["-size", "33x17", "gradient:#ff2000-#0020ff", "(", "-size", "33x17",
            "radial-gradient:white-black", ")", "-compose", "multiply", "-composite"]
    no_dates = ["-define", "png:exclude-chunks=date,time"]
    im = [
        ("im_rgb8", ["PNG24:"], False, "ImageMagick RGB 8-bit"),
        ("im_rgba8_adam7", ["-alpha", "set", "-channel", "A", "-fx", "i/w", "+channel",
                            "-interlace", "PNG", "PNG32:"], False, "ImageMagick RGBA 8-bit, Adam7"),
        ("im_rgb16", ["-depth", "16", "PNG48:"], True, "ImageMagick RGB 16-bit"),
        ("im_rgba16", ["-alpha", "set", "-channel", "A", "-fx", "j/h", "+channel", "-depth", "16",
                       "PNG64:"], True, "ImageMagick RGBA 16-bit"),
        ("im_palette", ["-colors", "12", "PNG8:"], False, "ImageMagick palette"),
        ("im_grey4", ["-colorspace", "Gray", "-depth", "4", "-define", "png:bit-depth=4",
                      "-define", "png:color-type=0", "PNG:"], False, "ImageMagick grey 4-bit"),
    ]
    for name, args, sixteen, description in im:
        path = os.path.join(OUT, name + ".png")
        fmt = args[-1]
        subprocess.run(MAGICK + base + args[:-1] + no_dates + [fmt + path], check=True)
        reference(name, 33, 17, sixteen, description)

    # Resize references from Pillow (what diffusers' image processor resizes with), for
    # resizeImage()'s parity test: an opaque 37x23 source and Pillow's output for each case.
    rng = Rng(500)
    src = [[tuple(min(255, (x * 7 + y * 11) * (c + 1) % 256 // 2 + rng.next(128)) for c in range(3))
            + (255,) for x in range(37)] for y in range(23)]
    write_png(os.path.join(OUT, "resize_src.png"), 37, 23, 6, 8, src)
    pillow_version = subprocess.run([VENV_PYTHON, "-c", PILLOW_SCRIPT, OUT], check=True,
                                    capture_output=True, text=True).stdout.strip()

    # Not a PNG: a small JPEG for decodeImage()'s format-sniffing test.
    subprocess.run(MAGICK + ["-size", "8x8", "gradient:red-blue", "-strip", "-quality", "90",
                             os.path.join(OUT, "sniff_8x8.jpg")], check=True)

    with open(os.path.join(OUT, "manifest.json"), "w") as f:
        json.dump({"generator": "tools/make_png_fixtures.py",
                   "reference_decoder": subprocess.run(MAGICK + ["-version"], capture_output=True,
                                                       text=True).stdout.splitlines()[0],
                   "fixtures": manifest,
                   "resize_reference": pillow_version,
                   "resize_cases": [f"resize_pillow_{n}_{w}x{h}.rgba" for n, w, h in RESIZE_CASES]},
                  f, indent=1)
        f.write("\n")
    total = sum(os.path.getsize(os.path.join(OUT, f)) for f in os.listdir(OUT) if f[0] != ".")
    print(f"wrote {len(manifest)} fixtures, {total} bytes, to {os.path.normpath(OUT)}")


if __name__ == "__main__":
    main()
