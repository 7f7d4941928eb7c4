"""A manifest's members as stored by the database backends: per section, the row ids of its
objects, delta-encoded and compressed."""

from __future__ import annotations

import json
import zlib


def encode_members(sections: dict[str, list[int]]) -> bytes:
    """Object row ids per section as deltas: the ids of one scan are mostly consecutive, so the
    list compresses to a few bytes per thousand members."""
    previous, encoded = 0, {}
    for name in sorted(sections):
        deltas = []
        for object_id in sections[name]:
            deltas.append(object_id - previous)
            previous = object_id
        encoded[name] = deltas
    return zlib.compress(json.dumps(encoded, separators=(",", ":")).encode(), 9)


def decode_members(blob: bytes) -> dict[str, list[int]]:
    previous, sections = 0, {}
    for name, deltas in sorted(json.loads(zlib.decompress(blob)).items()):
        ids = []
        for delta in deltas:
            previous += delta
            ids.append(previous)
        sections[name] = ids
    return sections
