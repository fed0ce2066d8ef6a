#!/usr/bin/env bash
# Makes the JPEG decoder conformance fixtures in tests/fixtures/jpeg/ with libjpeg-turbo's own
# tools, so tests/image/jpeg_decode_test.ts can compare decodeJpeg() against libjpeg's pixels.
#
# Needs (Debian, as root): apt-get install -y libjpeg-turbo-progs imagemagick python3
# Made with libjpeg-turbo 2.1.5 (Debian 12) and ImageMagick 6.9.11.
#
# For each case NAME:
#   NAME.jpg           the input, made by cjpeg/jpegtran (+ small byte edits done in Python below)
#   NAME.ref.ppm|pgm   `djpeg -pnm` (islow IDCT, fancy upsampling), EXIF orientation applied by
#                      ImageMagick (`-orient X -auto-orient`) for the exif_* cases
#   NAME.nosmooth.ppm  `djpeg -nosmooth -pnm`, only where it differs from NAME.ref.ppm
#   refuse_*.jpg       files the decoder must refuse (no reference)
#   partial*.jpg       files to decode without a reference
#   src_SIZE.ppm       sources of the cjpeg cases, for the encoder test (jpeg_encode_test.ts)
# Source images are synthetic and deterministic (gradients, edges, seeded noise, saturated colour).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
out="$here/../tests/fixtures/jpeg"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$out"
rm -f "$out"/*.jpg "$out"/*.ppm "$out"/*.pgm

for tool in cjpeg djpeg jpegtran convert identify python3; do
  command -v "$tool" >/dev/null || { echo "missing tool: $tool" >&2; exit 1; }
done

# py FUNCTION ARGS...: the small byte-level helpers.
py() {
  python3 - "$@" <<'PY'
import struct, sys

def ppm(w, h, path, seed):
    """A colourful synthetic picture: gradients, a disc, stripes, hard edges and noise."""
    state = seed
    px = bytearray()
    for y in range(h):
        for x in range(w):
            state = (state * 1103515245 + 12345) & 0x7FFFFFFF
            noise = (state >> 16) % 25 - 12
            r = 255 * x // max(1, w - 1)
            g = 255 * y // max(1, h - 1)
            b = 128 + (60 if (x // 4 + y // 3) % 2 else -60)
            if (x - w / 2) ** 2 + (y - h / 2) ** 2 < (min(w, h) / 3) ** 2:
                r, g, b = 250, 20, 40
            if x == w // 3:
                r, g, b = 0, 0, 255
            c = [min(255, max(0, v + noise)) for v in (r, g, b)]
            px += bytes(c)
    with open(path, "wb") as f:
        f.write(b"P6\n%d %d\n255\n" % (w, h) + bytes(px))

def segments(data):
    """Yields (offset, marker, end) for each marker segment before the first SOS."""
    pos = 2
    while pos < len(data):
        assert data[pos] == 0xFF, "bad marker"
        m = data[pos + 1]
        n = struct.unpack(">H", data[pos + 2:pos + 4])[0]
        yield pos, m, pos + 2 + n
        if m == 0xDA:
            return
        pos += 2 + n

def without_app0(data):
    for off, m, end in segments(data):
        if m == 0xE0:
            return data[:off] + data[end:]
    return data

def exif(inp, outp, orientation, order, bad):
    """Puts a minimal EXIF APP1 (IFD0 with Orientation) right after SOI."""
    e = "<" if order == "II" else ">"
    ifd = struct.pack(e + "H", 2)
    # An unrelated tag first (ImageDescription offset junk is fine: type ASCII, count 1, inline).
    ifd += struct.pack(e + "HHI", 0x010E, 2, 1) + b"\0\0\0\0"
    ifd += struct.pack(e + "HHIH", 0x0112, 3, 1, orientation) + b"\0\0"
    ifd += struct.pack(e + "I", 0)
    first_ifd = 0xFFFF if bad else 8
    tiff = order.encode() + struct.pack(e + "HI", 42, first_ifd) + ifd
    payload = b"Exif\0\0" + tiff
    app1 = b"\xFF\xE1" + struct.pack(">H", len(payload) + 2) + payload
    data = open(inp, "rb").read()
    open(outp, "wb").write(data[:2] + app1 + data[2:])

def adobe(inp, outp, transform):
    """Replaces the JFIF APP0 with an Adobe APP14 carrying `transform` (or nothing if -1)."""
    data = without_app0(open(inp, "rb").read())
    if int(transform) >= 0:
        payload = b"Adobe" + struct.pack(">HHHB", 100, 0, 0, int(transform))
        data = data[:2] + b"\xFF\xEE" + struct.pack(">H", len(payload) + 2) + payload + data[2:]
    open(outp, "wb").write(data)

def truncate(inp, outp, fraction):
    data = open(inp, "rb").read()
    sos = [end for off, m, end in segments(data) if m == 0xDA][0]
    cut = sos + int((len(data) - sos) * float(fraction))
    open(outp, "wb").write(data[:cut])

cmd, *args = sys.argv[1:]
if cmd == "ppm":
    ppm(int(args[0]), int(args[1]), args[2], int(args[3]))
elif cmd == "exif":
    exif(args[0], args[1], int(args[2]), args[3], args[4] == "bad")
elif cmd == "adobe":
    adobe(args[0], args[1], args[2])
elif cmd == "truncate":
    truncate(args[0], args[1], args[2])
PY
}

# Sources.
for size in 16x16 33x17 50x31 1x1 3x2 5x3 4x4 17x9; do
  py ppm "${size%x*}" "${size#*x}" "$work/src_$size.ppm" "${#size}7"
done

# The sources of the encoder cases, kept so tests can re-encode them with encodeJpeg().
for size in 16x16 33x17 50x31 17x9; do cp "$work/src_$size.ppm" "$out/src_$size.ppm"; done

# ref NAME [orientation-name]: writes the djpeg references for NAME.jpg.
ref() {
  local name=$1 orient=${2:-} ext
  # djpeg exits 2 after a warning (e.g. premature end of data) but still writes the image.
  djpeg -pnm "$out/$name.jpg" >"$work/ref.pnm" || [ $? -eq 2 ]
  djpeg -nosmooth -pnm "$out/$name.jpg" >"$work/nosmooth.pnm" || [ $? -eq 2 ]
  if head -c 2 "$work/ref.pnm" | grep -q P5; then ext=pgm; else ext=ppm; fi
  for kind in ref nosmooth; do
    if [ -n "$orient" ]; then
      convert "$work/$kind.pnm" -orient "$orient" -auto-orient -depth 8 "$ext:$work/$kind.o.pnm"
      mv "$work/$kind.o.pnm" "$work/$kind.pnm"
    fi
  done
  cp "$work/ref.pnm" "$out/$name.ref.$ext"
  if ! cmp -s "$work/ref.pnm" "$work/nosmooth.pnm"; then
    cp "$work/nosmooth.pnm" "$out/$name.nosmooth.$ext"
  fi
}

# jpg NAME SIZE CJPEG-ARGS...: encodes the SIZE source with cjpeg and writes references.
jpg() {
  local name=$1 size=$2
  shift 2
  cjpeg "$@" "$work/src_$size.ppm" >"$out/$name.jpg"
  ref "$name"
}

for size in 16x16 33x17 50x31; do
  jpg "base444_$size" "$size" -quality 90 -sample 1x1
  jpg "base422_$size" "$size" -quality 90 -sample 2x1
  jpg "base420_$size" "$size" -quality 90 -sample 2x2
  jpg "gray_$size" "$size" -quality 90 -grayscale
  jpg "prog420_$size" "$size" -quality 85 -progressive -sample 2x2
done
for size in 1x1 3x2 5x3 4x4 17x9; do
  jpg "tiny420_$size" "$size" -quality 90 -sample 2x2
done
jpg tiny422_3x2 3x2 -quality 90 -sample 2x1
jpg tinygray_1x1 1x1 -grayscale
jpg base440_50x31 50x31 -quality 90 -sample 1x2
jpg base411_50x31 50x31 -quality 90 -sample 4x1
jpg mixed_50x31 50x31 -quality 90 -sample 2x2,2x1,1x2
jpg y22c11c22_33x17 33x17 -quality 90 -sample 2x2,1x1,2x2
jpg prog444_50x31 50x31 -quality 90 -progressive -sample 1x1
jpg proggray_50x31 50x31 -quality 90 -progressive -grayscale
jpg prog422_33x17 33x17 -quality 95 -progressive -sample 2x1
jpg restart420_50x31 50x31 -quality 90 -sample 2x2 -restart 1
jpg restart444b_33x17 33x17 -quality 90 -sample 1x1 -restart 1B
jpg restartprog_50x31 50x31 -quality 90 -progressive -sample 2x2 -restart 2B
jpg restartgray_33x17 33x17 -quality 90 -grayscale -restart 3B
jpg optimized420_50x31 50x31 -quality 90 -sample 2x2 -optimize
jpg q100_444_33x17 33x17 -quality 100 -sample 1x1
jpg q5_420_50x31 50x31 -quality 5 -sample 2x2
jpg rgb_33x17 33x17 -quality 90 -rgb
# For the encoder too: cjpeg -baseline at lower qualities.
jpg baseline30_420_17x9 17x9 -quality 30 -sample 2x2 -baseline
jpg baseline60_422_50x31 50x31 -quality 60 -sample 2x1 -baseline

# Sequential but non-interleaved: one scan a component (blocks per line != MCU stride at 4:2:0).
printf '0;\n1;\n2;\n' >"$work/seq.scans"
jpg seqscans420_50x31 50x31 -quality 90 -sample 2x2 -scans "$work/seq.scans"
# Progressive with spectral selection only, and with deep successive approximation.
printf '0,1,2: 0-0, 0, 0;\n0: 1-9, 0, 0;\n0: 10-63, 0, 0;\n1: 1-63, 0, 0;\n2: 1-63, 0, 0;\n' \
  >"$work/spectral.scans"
jpg progspectral_50x31 50x31 -quality 90 -sample 2x2 -scans "$work/spectral.scans"
printf '%s\n' '0,1,2: 0-0, 0, 3;' '0: 1-5, 0, 4;' '0: 6-63, 0, 4;' '1: 1-63, 0, 2;' \
  '2: 1-63, 0, 2;' '0,1,2: 0-0, 3, 2;' '0,1,2: 0-0, 2, 1;' '0,1,2: 0-0, 1, 0;' \
  '0: 1-63, 4, 3;' '0: 1-63, 3, 2;' '0: 1-63, 2, 1;' '0: 1-63, 1, 0;' '1: 1-63, 2, 1;' \
  '1: 1-63, 1, 0;' '2: 1-63, 2, 1;' '2: 1-63, 1, 0;' >"$work/approx.scans"
jpg progapprox_50x31 50x31 -quality 95 -sample 2x1 -scans "$work/approx.scans"

# jpegtran: lossless re-encodings of a baseline file.
jpegtran -progressive -optimize "$out/base420_50x31.jpg" >"$out/tranprog420_50x31.jpg"
ref tranprog420_50x31
jpegtran -restart 1B "$out/prog420_50x31.jpg" >"$out/tranprogrst_50x31.jpg"
ref tranprogrst_50x31

# Colour-space signalling: Adobe APP14 instead of JFIF, and neither.
py adobe "$out/base420_33x17.jpg" "$out/adobe1_33x17.jpg" 1
ref adobe1_33x17
py adobe "$out/base444_33x17.jpg" "$out/adobe0_33x17.jpg" 0
ref adobe0_33x17
py adobe "$out/base444_33x17.jpg" "$out/nojfif_33x17.jpg" -1
ref nojfif_33x17

# Entropy data cut short: libjpeg decodes the missing part as zeros.
py truncate "$out/base420_50x31.jpg" "$out/truncated420_50x31.jpg" 0.5
ref truncated420_50x31
py truncate "$out/base420_50x31.jpg" "$out/truncatedsos_50x31.jpg" 0
ref truncatedsos_50x31
# A progressive file cut short gets no reference: libjpeg then applies its interblock smoothing
# (jdcoefct.c decompress_smooth_data), which decodeJpeg does not; the test only decodes it.
py truncate "$out/prog420_50x31.jpg" "$out/partialprog_50x31.jpg" 0.6

# EXIF orientation 1..8 (odd: little-endian "II", even: big-endian "MM"), and a broken EXIF block.
names=(TopLeft TopLeft TopRight BottomRight BottomLeft LeftTop RightTop RightBottom LeftBottom)
for o in 1 2 3 4 5 6 7 8; do
  order=II
  if [ $((o % 2)) -eq 0 ]; then order=MM; fi
  py exif "$out/base420_33x17.jpg" "$out/exif${o}_33x17.jpg" "$o" "$order" good
  got=$(identify -format '%[orientation]' "$out/exif${o}_33x17.jpg")
  [ "$got" = "${names[$o]}" ] || { echo "EXIF $o reads back as $got" >&2; exit 1; }
  ref "exif${o}_33x17" "${names[$o]}"
done
py exif "$out/base422_16x16.jpg" "$out/exifbad_16x16.jpg" 6 II bad
ref exifbad_16x16

# Refused: arithmetic coding, baseline and progressive.
cjpeg -arithmetic "$work/src_16x16.ppm" >"$out/refuse_arith.jpg"
cjpeg -arithmetic -progressive "$work/src_16x16.ppm" >"$out/refuse_arithprog.jpg"

du -sh "$out"
ls "$out" | wc -l
