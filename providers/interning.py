"""Repeated text in the clouds' answers held as one string.

Ids, names, regions and tag keys recur across thousands of objects of one scan, each parsed
from the answer as a new string; normalizers pass them through :func:`text`. Peers and port
sets need nothing here: the model holds one object per distinct one (``Peer.cidr``,
``Peer.shared``, ``PortSet.parse``...).
"""

from __future__ import annotations

import sys
from typing import Any


def text(value: Any) -> Any:
    """Repeated text as one shared string; anything that is not a string as it is."""
    return sys.intern(value) if type(value) is str else value
