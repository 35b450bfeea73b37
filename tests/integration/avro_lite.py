"""A small Avro object container file reader (Avro 1.11 spec, "Object
Container Files" and "Binary Encoding"), standard library only: the Iceberg
tests decode the manifests the lakehouse writes with it, independently of
the C side (which encodes through avro-c, ADR 0231). Codecs: null and
deflate. Types: null, boolean, int, long, float, double, bytes, string,
record, array, map, union, fixed, enum. Maps written as arrays of key/value
records (Iceberg's logicalType "map") come back as lists of dicts.
"""
import json
import struct
import zlib


class Reader:
    def __init__(self, data, pos=0):
        self.data = data
        self.pos = pos

    def long(self):
        shift = 0
        u = 0
        while True:
            b = self.data[self.pos]
            self.pos += 1
            u |= (b & 0x7F) << shift
            if not b & 0x80:
                return (u >> 1) ^ -(u & 1)
            shift += 7

    def take(self, n):
        if n < 0 or self.pos + n > len(self.data):
            raise ValueError("truncated Avro data")
        b = self.data[self.pos:self.pos + n]
        self.pos += n
        return b

    def bytes(self):
        return self.take(self.long())


def _named(schema, names):
    if isinstance(schema, dict) and schema.get("type") in ("record", "enum", "fixed"):
        names[schema["name"]] = schema
        if schema["type"] == "record":
            for f in schema["fields"]:
                _named(f["type"], names)
    elif isinstance(schema, dict) and schema.get("type") == "array":
        _named(schema["items"], names)
    elif isinstance(schema, dict) and schema.get("type") == "map":
        _named(schema["values"], names)
    elif isinstance(schema, list):
        for s in schema:
            _named(s, names)


def decode(r, schema, names):
    if isinstance(schema, str) and schema in names:
        schema = names[schema]
    if isinstance(schema, list):
        return decode(r, schema[r.long()], names)
    t = schema["type"] if isinstance(schema, dict) else schema
    if isinstance(t, (dict, list)):
        return decode(r, t, names)
    if t == "null":
        return None
    if t == "boolean":
        b = r.take(1)[0]
        if b not in (0, 1):
            raise ValueError("boolean byte %d" % b)
        return b == 1
    if t in ("int", "long"):
        return r.long()
    if t == "float":
        return struct.unpack("<f", r.take(4))[0]
    if t == "double":
        return struct.unpack("<d", r.take(8))[0]
    if t == "bytes":
        return r.bytes()
    if t == "string":
        return r.bytes().decode("utf-8")
    if t == "fixed":
        return r.take(schema["size"])
    if t == "enum":
        return schema["symbols"][r.long()]
    if t == "record":
        return {f["name"]: decode(r, f["type"], names) for f in schema["fields"]}
    if t in ("array", "map"):
        out = [] if t == "array" else {}
        while True:
            n = r.long()
            if n == 0:
                return out
            if n < 0:
                n = -n
                r.long()
            for _ in range(n):
                if t == "array":
                    out.append(decode(r, schema["items"], names))
                else:
                    k = r.bytes().decode("utf-8")
                    out[k] = decode(r, schema["values"], names)
    raise ValueError("unknown Avro type %r" % (t,))


def read(data):
    """(metadata {str: bytes}, schema, records) of a container file."""
    if data[:4] != b"Obj\x01":
        raise ValueError("not an Avro object container file")
    r = Reader(data, 4)
    meta = decode(r, {"type": "map", "values": "bytes"}, {})
    sync = r.take(16)
    schema = json.loads(meta["avro.schema"])
    codec = meta.get("avro.codec", b"null").decode()
    names = {}
    _named(schema, names)
    records = []
    while r.pos < len(data):
        count = r.long()
        block = r.bytes()
        if r.take(16) != sync:
            raise ValueError("sync marker mismatch")
        if codec == "deflate":
            block = zlib.decompress(block, -15)
        elif codec != "null":
            raise ValueError("codec %s" % codec)
        br = Reader(block)
        for _ in range(count):
            records.append(decode(br, schema, names))
        if br.pos != len(block):
            raise ValueError("block has %d bytes left over" % (len(block) - br.pos))
    return meta, schema, records
