"""Procedural scenes with captions and per-object masks (numpy + pillow, deterministic by seed).

A scene is one or two flat-coloured objects (circle, square, triangle, star, heart, cross), each
upright inside a square box, over a background (plain, gradient, striped, checkered). Everything is
sampled at 4x4 points per pixel and averaged, so edges are anti-aliased; an object's mask is its
coverage >= 0.5.

Colour rule (what makes hue-based checking reliable, see eval/checker.ts):
  * object colours are saturated: HSV saturation 0.75..1, value 0.85..1, hue within +-5 degrees of
    the colour's centre hue; the centres are at least 40 degrees apart;
  * background colours are desaturated: saturation 0.25..0.35 (white, gray and black <= 0.04), and a
    pattern's second colour has the same hue and saturation, only another value.
So a pixel with saturation >= 0.5 belongs to an object, and the median hue of those pixels names
the object's colour.

Captions list objects left to right: "a red star on a striped blue background",
"a green circle and a yellow heart on a blue gradient background".

Shapes are defined in a unit box [0,1]^2 (y down) as polygons whose bounding box is exactly the
unit box; eval/checker.ts defines the same polygons and samples them at the same points (its
`rasterizeShape`) for template matching. Keep the two in step.
"""

import math

import numpy as np

SS = 4  # supersampling factor

# name -> centre hue in degrees (HSV)
COLOURS = {
    "red": 0.0,
    "yellow": 55.0,
    "green": 120.0,
    "cyan": 180.0,
    "blue": 228.0,
    "purple": 280.0,
    "pink": 325.0,
}
COLOUR_NAMES = list(COLOURS)

SHAPES = ["circle", "square", "triangle", "star", "heart", "cross"]

# background colour name -> (hue, saturation range, value range)
BACKGROUND_COLOURS = {
    "white": (0.0, (0.0, 0.04), (0.86, 0.96)),
    "gray": (0.0, (0.0, 0.04), (0.42, 0.62)),
    "black": (0.0, (0.0, 0.04), (0.06, 0.18)),
    "blue": (215.0, (0.25, 0.35), (0.45, 0.75)),
    "green": (110.0, (0.25, 0.35), (0.4, 0.7)),
    "brown": (30.0, (0.25, 0.35), (0.32, 0.52)),
}
BACKGROUND_NAMES = list(BACKGROUND_COLOURS)
PATTERNS = ["plain", "gradient", "stripes", "checks"]

# (width, height) and how often they appear
SIZES = [((64, 64), 0.8), ((96, 64), 0.1), ((64, 96), 0.1)]


def _normalise(points):
    p = np.asarray(points, dtype=np.float64)
    lo = p.min(axis=0)
    hi = p.max(axis=0)
    return (p - lo) / (hi - lo)


def shape_polygon(name):
    """Vertices [K,2] (x, y) in the unit box, bounding box exactly [0,1]^2, y pointing down."""
    if name == "circle":
        t = np.arange(96) * (2 * math.pi / 96)
        return _normalise(np.stack([np.cos(t), np.sin(t)], axis=1))
    if name == "square":
        return _normalise([[0, 0], [1, 0], [1, 1], [0, 1]])
    if name == "triangle":
        return _normalise([[0.5, 0], [1, 1], [0, 1]])
    if name == "star":
        pts = []
        for k in range(10):
            r = 1.0 if k % 2 == 0 else 0.5
            a = -math.pi / 2 + k * math.pi / 5
            pts.append([r * math.cos(a), r * math.sin(a)])
        return _normalise(pts)
    if name == "heart":
        t = np.arange(96) * (2 * math.pi / 96)
        x = 16 * np.sin(t) ** 3
        y = -(13 * np.cos(t) - 5 * np.cos(2 * t) - 2 * np.cos(3 * t) - np.cos(4 * t))
        return _normalise(np.stack([x, y], axis=1))
    if name == "cross":
        a, b = 1 / 3, 2 / 3
        return _normalise([[a, 0], [b, 0], [b, a], [1, a], [1, b], [b, b], [b, 1], [a, 1], [a, b],
                           [0, b], [0, a], [a, a]])
    raise ValueError(f"Unknown shape '{name}'")


def hsv_to_rgb(h, s, v):
    """h in degrees, s and v in [0,1] -> (r, g, b) floats in [0,1]."""
    h = (h % 360.0) / 60.0
    i = int(math.floor(h)) % 6
    f = h - math.floor(h)
    p, q, t = v * (1 - s), v * (1 - s * f), v * (1 - s * (1 - f))
    return [(v, t, p), (q, v, p), (p, v, t), (p, q, v), (t, p, v), (v, p, q)][i]


def _uniform(rng, lo_hi):
    return float(rng.uniform(lo_hi[0], lo_hi[1]))


def sample_object_colour(rng, name):
    hue = COLOURS[name] + float(rng.uniform(-5, 5))
    return {"name": name, "hsv": [hue % 360.0, float(rng.uniform(0.75, 1.0)), float(rng.uniform(0.85, 1.0))]}


def sample_background(rng):
    name = BACKGROUND_NAMES[rng.integers(len(BACKGROUND_NAMES))]
    pattern = PATTERNS[rng.integers(len(PATTERNS))]
    hue, s_range, v_range = BACKGROUND_COLOURS[name]
    hue = hue + float(rng.uniform(-8, 8))
    s = _uniform(rng, s_range)
    v = _uniform(rng, v_range)
    # second colour: same hue and saturation, value moved by 0.18..0.3 (down if bright, else up)
    dv = float(rng.uniform(0.18, 0.3))
    v2 = v - dv if v > 0.5 else v + dv
    bg = {"name": name, "pattern": pattern, "hsv": [hue % 360.0, s, v], "hsv2": [hue % 360.0, s, v2]}
    if pattern == "gradient":
        bg["angle"] = float(rng.uniform(0, 360))
    elif pattern == "stripes":
        bg["orientation"] = ["horizontal", "vertical"][rng.integers(2)]
        bg["width"] = int(rng.integers(4, 9))
        bg["phase"] = int(rng.integers(0, 16))
    elif pattern == "checks":
        bg["cell"] = int(rng.integers(5, 11))
        bg["phase"] = [int(rng.integers(0, 16)), int(rng.integers(0, 16))]
    return bg


def _boxes_apart(a, b, gap):
    return (a[0] + a[2] + gap <= b[0] or b[0] + b[2] + gap <= a[0]
            or a[1] + a[2] + gap <= b[1] or b[1] + b[2] + gap <= a[1])


def sample_scene(rng, size=None, n_objects=None):
    """A scene spec (JSON-ready dict). size = (width, height) or None for the SIZES mix."""
    if size is None:
        probs = np.array([p for _, p in SIZES])
        size = SIZES[rng.choice(len(SIZES), p=probs / probs.sum())][0]
    w, h = size
    if n_objects is None:
        n_objects = 1 if rng.random() < 0.7 else 2
    short = min(w, h)
    lo, hi = (0.28, 0.55) if n_objects == 1 else (0.25, 0.4)
    objects = []
    for _ in range(200):
        objects = []
        for _k in range(n_objects):
            side = int(round(rng.uniform(lo, hi) * short))
            x = int(rng.integers(2, w - side - 1))
            y = int(rng.integers(2, h - side - 1))
            objects.append({"box": [x, y, side]})
        if n_objects == 1 or _boxes_apart(objects[0]["box"], objects[1]["box"], 3):
            break
    else:
        raise RuntimeError("Could not place two objects apart")
    colours = rng.choice(len(COLOUR_NAMES), size=n_objects, replace=False)
    for obj, ci in zip(objects, colours):
        obj["shape"] = SHAPES[rng.integers(len(SHAPES))]
        obj["colour"] = sample_object_colour(rng, COLOUR_NAMES[ci])
    objects.sort(key=lambda o: (o["box"][0] + o["box"][2] / 2, o["box"][1]))
    return {"width": w, "height": h, "background": sample_background(rng), "objects": objects}


def background_phrase(bg):
    c = bg["name"]
    return {"plain": f"a {c} background", "gradient": f"a {c} gradient background",
            "stripes": f"a striped {c} background", "checks": f"a checkered {c} background"}[bg["pattern"]]


def caption(scene):
    objs = " and ".join(f"a {o['colour']['name']} {o['shape']}" for o in scene["objects"])
    return f"{objs} on {background_phrase(scene['background'])}"


def _axis_fraction(n, period, phase):
    """Per pixel along one axis: the fraction of its SS sub-samples in odd cells of `period`."""
    sub = (np.arange(n * SS) + 0.5) / SS
    odd = (np.floor((sub + phase) / period) % 2).reshape(n, SS)
    return odd.mean(axis=1)


def _render_background(bg, w, h):
    """[h,w,3] floats; the same as drawing at SSx and box-filtering (done per axis here)."""
    c1 = np.array(hsv_to_rgb(*bg["hsv"]))
    c2 = np.array(hsv_to_rgb(*bg["hsv2"]))
    p = bg["pattern"]
    if p == "plain":
        t = np.zeros((h, w))
    elif p == "gradient":
        # linear in the pixel position, so the mean of the sub-samples is the value at the centre
        ys, xs = np.mgrid[0:h, 0:w]
        a = math.radians(bg["angle"])
        d = (xs + 0.5) * math.cos(a) + (ys + 0.5) * math.sin(a)
        # the range is taken over the sub-sample grid, as if drawn at SSx
        hs = np.array([0.5 / SS, w - 0.5 / SS])
        vs = np.array([0.5 / SS, h - 0.5 / SS])
        corners = [x * math.cos(a) + y * math.sin(a) for x in hs for y in vs]
        lo, hi = min(corners), max(corners)
        t = (d - lo) / max(hi - lo, 1e-9)
    elif p == "stripes":
        if bg["orientation"] == "horizontal":
            t = np.repeat(_axis_fraction(h, bg["width"], bg["phase"])[:, None], w, axis=1)
        else:
            t = np.repeat(_axis_fraction(w, bg["width"], bg["phase"])[None, :], h, axis=0)
    else:
        fx = _axis_fraction(w, bg["cell"], bg["phase"][0])[None, :]
        fy = _axis_fraction(h, bg["cell"], bg["phase"][1])[:, None]
        t = fx * (1 - fy) + (1 - fx) * fy
    return c1[None, None, :] * (1 - t[..., None]) + c2[None, None, :] * t[..., None]


def object_coverage(shape, box, w, h):
    """Coverage in [0,1], [h,w] float: the fraction of each pixel's SSxSS sub-sample centres that
    fall inside the shape's polygon stretched over its box (even-odd rule, half-open spans).
    eval/checker.ts `rasterizeShape` samples the same points, so its coverage >= 0.5 is the mask."""
    x, y, side = box
    poly = shape_polygon(shape) * side + np.array([x, y])
    x0, y0 = max(int(math.floor(x)), 0), max(int(math.floor(y)), 0)
    x1, y1 = min(int(math.ceil(x + side)), w), min(int(math.ceil(y + side)), h)
    xc = x0 + (np.arange((x1 - x0) * SS) + 0.5) / SS
    yc = y0 + (np.arange((y1 - y0) * SS) + 0.5) / SS
    X, Y = np.meshgrid(xc, yc)
    inside = np.zeros(X.shape, dtype=bool)
    for k in range(len(poly)):
        ax, ay = poly[k]
        bx, by = poly[(k + 1) % len(poly)]
        if ay == by:
            continue
        rows = (ay <= yc) != (by <= yc)
        if not rows.any():
            continue
        xi = ax + ((yc[rows] - ay) / (by - ay)) * (bx - ax)
        inside[rows] ^= X[rows] < xi[:, None]
    cov = np.zeros((h, w))
    cov[y0:y1, x0:x1] = inside.reshape(y1 - y0, SS, x1 - x0, SS).mean(axis=(1, 3))
    return cov


def render(scene):
    """Returns (rgb uint8 [h,w,3], list of bool masks [h,w], one per object)."""
    w, h = scene["width"], scene["height"]
    img = _render_background(scene["background"], w, h)
    masks = []
    for o in scene["objects"]:
        cov = object_coverage(o["shape"], o["box"], w, h)
        col = np.array(hsv_to_rgb(*o["colour"]["hsv"]))
        img = img * (1 - cov[..., None]) + col[None, None, :] * cov[..., None]
        masks.append(cov >= 0.5)
    rgb = np.clip(np.round(img * 255.0), 0, 255).astype(np.uint8)
    return rgb, masks


def make_edit(rng, scene):
    """An edit of one object: colour, shape or both. Returns (edit dict, target scene)."""
    k = int(rng.integers(len(scene["objects"])))
    kind = ["colour", "shape", "both"][rng.integers(3)]
    src = scene["objects"][k]
    tgt = {"box": list(src["box"]), "shape": src["shape"], "colour": dict(src["colour"])}
    if kind in ("colour", "both"):
        used = {o["colour"]["name"] for o in scene["objects"]}
        choices = [c for c in COLOUR_NAMES if c not in used]
        tgt["colour"] = sample_object_colour(rng, choices[rng.integers(len(choices))])
        # keep saturation and value, so only the hue changes
        tgt["colour"]["hsv"] = [tgt["colour"]["hsv"][0]] + src["colour"]["hsv"][1:]
    if kind in ("shape", "both"):
        choices = [s for s in SHAPES if s != src["shape"]]
        tgt["shape"] = choices[rng.integers(len(choices))]
    target = dict(scene)
    target["objects"] = [tgt if i == k else o for i, o in enumerate(scene["objects"])]
    edit = {"kind": kind, "object": k,
            "source_words": [src["colour"]["name"], src["shape"]],
            "target_words": [tgt["colour"]["name"], tgt["shape"]]}
    return edit, target
