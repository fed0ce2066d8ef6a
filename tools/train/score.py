"""Crude caption-following score for generated scenes (Python twin of eval/checker.ts's idea).

Objects are the largest saturated blobs (HSV saturation >= 0.42, value >= 0.2, 4-connected),
as many as the caption names, ordered left to right like the caption. Colour: the circular median
hue, snapped to the nearest named hue. Shape: the template (tools/scenes polygons) stretched over
the blob's bounding box with the best IoU. Not the benchmark (that is eval/ in TypeScript): this
only tells whether training is going somewhere.
"""

import math
import re

import numpy as np

from common import S

SAT_MIN, VAL_MIN = 0.42, 0.2


def rgb_to_hsv(img):
    x = img.astype(np.float64)
    mx, mn = x.max(axis=2), x.min(axis=2)
    d = mx - mn
    v = mx / 255.0
    s = np.where(mx > 0, d / np.maximum(mx, 1e-9), 0.0)
    r, g, b = x[..., 0], x[..., 1], x[..., 2]
    dd = np.maximum(d, 1e-9)
    h = np.where(mx == r, ((g - b) / dd) % 6, np.where(mx == g, (b - r) / dd + 2, (r - g) / dd + 4)) * 60
    h = np.where(d == 0, 0.0, h) % 360
    return h, s, v


def components(mask):
    h, w = mask.shape
    label = np.zeros((h, w), dtype=np.int32)
    comps = []
    for y0 in range(h):
        for x0 in range(w):
            if not mask[y0, x0] or label[y0, x0]:
                continue
            n = len(comps) + 1
            stack, pix = [(y0, x0)], []
            label[y0, x0] = n
            while stack:
                y, x = stack.pop()
                pix.append((y, x))
                for yy, xx in ((y - 1, x), (y + 1, x), (y, x - 1), (y, x + 1)):
                    if 0 <= yy < h and 0 <= xx < w and mask[yy, xx] and not label[yy, xx]:
                        label[yy, xx] = n
                        stack.append((yy, xx))
            comps.append(np.array(pix))
    return comps


def circular_median(hues):
    a = np.radians(hues)
    mean = math.degrees(math.atan2(np.sin(a).sum(), np.cos(a).sum()))
    shift = 180 - mean
    return (np.median((hues + shift) % 360) - shift) % 360


def nearest_colour(hue):
    d = {c: min(abs(hue - h) % 360, 360 - abs(hue - h) % 360) for c, h in S.COLOURS.items()}
    return min(d, key=d.get)


def classify_blob(img, pix, hsv):
    h = hsv[0][pix[:, 0], pix[:, 1]]
    colour = nearest_colour(circular_median(h))
    y0, x0 = pix.min(axis=0)
    y1, x1 = pix.max(axis=0)
    hh, ww = img.shape[:2]
    mask = np.zeros((hh, ww), dtype=bool)
    mask[pix[:, 0], pix[:, 1]] = True
    best, best_iou = None, -1.0
    for shape in S.SHAPES:
        # stretched over the box [x0, x1+1] x [y0, y1+1]; object_coverage takes a square box, so
        # draw in a square and resample
        side = max(x1 - x0 + 1, y1 - y0 + 1)
        cov = S.object_coverage(shape, (0, 0, side), side, side) >= 0.5
        yi = ((np.arange(y1 - y0 + 1) + 0.5) * side / (y1 - y0 + 1)).astype(int)
        xi = ((np.arange(x1 - x0 + 1) + 0.5) * side / (x1 - x0 + 1)).astype(int)
        tpl = np.zeros((hh, ww), dtype=bool)
        tpl[y0:y1 + 1, x0:x1 + 1] = cov[np.ix_(yi, xi)]
        iou = (tpl & mask).sum() / max((tpl | mask).sum(), 1)
        if iou > best_iou:
            best, best_iou = shape, iou
    return colour, best, float(best_iou), float((x0 + x1) / 2)


def parse_caption(caption):
    objs = caption.split(" on ")[0]
    return [tuple(m.groups()) for m in re.finditer(r"an? (\w+) (\w+)", objs)]


def score_image(img, caption):
    """Returns (objects expected, colour hits, shape hits, both hits)."""
    want = parse_caption(caption)
    hsv = rgb_to_hsv(img)
    sat = (hsv[1] >= SAT_MIN) & (hsv[2] >= VAL_MIN)
    comps = sorted(components(sat), key=len, reverse=True)[:len(want)]
    comps = [c for c in comps if len(c) >= 12]
    found = sorted((classify_blob(img, c, hsv) for c in comps), key=lambda r: r[3])
    ch = sh = both = 0
    if len(found) == len(want):
        for (wc, ws), (fc, fs, _, _) in zip(want, found):
            ch += wc == fc
            sh += ws == fs
            both += wc == fc and ws == fs
    return len(want), ch, sh, both
