"""How the store backends compress object bodies: zlib, primed with a dictionary.

Objects are small (one rule set, one asset), so compressed one by one they would repeat every
key name and common value that a whole-snapshot compression shares. A preset dictionary gives
zlib that shared context back: the first snapshot saved into a store supplies a sample of its own
objects (32 KiB, zlib's window), kept in the store, and every later object is compressed against
it. A body is either a plain zlib stream (it starts with 0x78) or ``0x01``, the dictionary's row
id in four bytes, then a zlib stream made with that dictionary.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Mapping
from typing import Any

from scanner.store.content import HEADER, SnapshotParts, assemble_document
from scanner.store.members import decode_members

WINDOW = 32 * 1024  # zlib looks back at most this far: a larger dictionary is wasted
_WITH_DICTIONARY = 0x01
_LEVEL = 6


def sample_dictionary(parts: SnapshotParts) -> bytes:
    """Objects of each section, evenly spread, in proportion to the section's size; the
    biggest section last (zlib finds the nearest matches cheapest)."""
    sizes = {name: sum(len(parts.objects[d]) for d in digests)
             for name, digests in parts.sections.items() if name != HEADER and digests}
    total = sum(sizes.values())
    if not total:
        return b""
    chunks = []
    for name in sorted(sizes, key=lambda n: (sizes[n], n)):
        budget = WINDOW * sizes[name] // total
        members = list(dict.fromkeys(parts.sections[name]))
        taken = 0
        step = max(1, len(members) // 16)
        for digest in members[::step]:
            body = parts.objects[digest]
            if taken + len(body) > budget:
                break
            chunks.append(body)
            taken += len(body)
    return b"".join(chunks)[-WINDOW:]


def compress(body: bytes, dictionary_id: int | None, dictionary: bytes | None) -> bytes:
    if not dictionary_id or not dictionary:
        return zlib.compress(body, _LEVEL)
    packer = zlib.compressobj(_LEVEL, zdict=dictionary)
    return (bytes([_WITH_DICTIONARY]) + dictionary_id.to_bytes(4, "big")
            + packer.compress(body) + packer.flush())


def decompress(blob: bytes, dictionary: Callable[[int], bytes]) -> bytes:
    """``dictionary(id)`` returns a stored dictionary; raises zlib.error or KeyError."""
    if blob[:1] != bytes([_WITH_DICTIONARY]):
        return zlib.decompress(blob)
    unpacker = zlib.decompressobj(zdict=dictionary(int.from_bytes(blob[1:5], "big")))
    body = unpacker.decompress(blob[5:]) + unpacker.flush()
    if not unpacker.eof:
        raise zlib.error("truncated object body")
    return body


def cached(load: Callable[[int], bytes]) -> Callable[[int], bytes]:
    seen: dict[int, bytes] = {}

    def get(dictionary_id: int) -> bytes:
        if dictionary_id not in seen:
            seen[dictionary_id] = load(dictionary_id)
        return seen[dictionary_id]

    return get



# What a damaged store raises while a document is put back together.
UNREADABLE = (zlib.error, ValueError, KeyError, TypeError, IndexError)


def stored_document(snapshot_id: str, taken_at: str, members: bytes,
                    bodies: Callable[[list[int]], Mapping[int, bytes]],
                    dictionary: Callable[[int], bytes]) -> dict[str, Any]:
    """A stored snapshot's document from its manifest's ``members``: the objects they name,
    read in one ``bodies(ids)`` call and decompressed. Raises one of ``UNREADABLE`` when an
    object is missing or damaged; each backend names its own remedy."""
    sections = decode_members(members)
    wanted = sorted({i for ids in sections.values() for i in ids})
    found = bodies(wanted)
    missing = [i for i in wanted if i not in found]
    if missing:
        raise ValueError(f"{len(missing)} of its objects are missing")
    known = cached(dictionary)
    plain = {i: decompress(bytes(body), known) for i, body in found.items()}
    return assemble_document(snapshot_id, taken_at,
                             {name: [plain[i] for i in ids] for name, ids in sections.items()})
