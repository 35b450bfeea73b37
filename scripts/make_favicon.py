#!/usr/bin/env python3
"""make_favicon.py — draws the web UI's icon (ADR 0123) and writes
src/gateway/ui_static/favicon.svg and favicon.ico (16 and 32 pixels, PNG
inside the ICO). Our own drawing, the header's logo: a light-blue lower-right
triangle on the header's dark rounded square. Only the standard library; run
again after changing the drawing and commit both files."""
import os
import struct
import zlib

BG = (0x18, 0x21, 0x2e)
FG = (0x7f, 0xb0, 0xe6)
SVG = ('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32">'
       '<rect width="32" height="32" rx="6" fill="#18212e"/>'
       '<path d="M25 7v18H7z" fill="#7fb0e6"/></svg>\n')


def sample(x, y):
    """The colour (r, g, b, a) at point (x, y) of the 32x32 drawing."""
    r = 6.0
    cx = min(max(x, r), 32 - r)
    cy = min(max(y, r), 32 - r)
    if (x - cx) ** 2 + (y - cy) ** 2 > r * r:
        return (0, 0, 0, 0)
    if x <= 25 and y <= 25 and x + y >= 32:
        return FG + (255,)
    return BG + (255,)


def render(size, ss=4):
    rows = []
    for py in range(size):
        row = bytearray([0])   # PNG filter: none
        for px in range(size):
            acc = [0, 0, 0, 0]
            for sy in range(ss):
                for sx in range(ss):
                    x = (px + (sx + 0.5) / ss) * 32 / size
                    y = (py + (sy + 0.5) / ss) * 32 / size
                    c = sample(x, y)
                    for i in range(3):
                        acc[i] += c[i] * c[3]
                    acc[3] += c[3]
            a = acc[3] / (ss * ss)
            rgb = [round(acc[i] / acc[3]) if acc[3] else 0 for i in range(3)]
            row += bytes(rgb + [round(a)])
        rows.append(bytes(row))
    return png(size, b"".join(rows))


def png(size, raw):
    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data +
                struct.pack(">I", zlib.crc32(kind + data) & 0xffffffff))
    ihdr = struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) +
            chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def ico(images):
    out = struct.pack("<HHH", 0, 1, len(images))
    offset = 6 + 16 * len(images)
    for size, data in images:
        out += struct.pack("<BBBBHHII", size % 256, size % 256, 0, 0, 1, 32, len(data), offset)
        offset += len(data)
    return out + b"".join(d for _, d in images)


def main():
    here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src", "gateway",
                        "ui_static")
    with open(os.path.join(here, "favicon.svg"), "w") as f:
        f.write(SVG)
    with open(os.path.join(here, "favicon.ico"), "wb") as f:
        f.write(ico([(16, render(16)), (32, render(32))]))


if __name__ == "__main__":
    main()
