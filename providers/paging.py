"""One guard for every paginated read, on every cloud.

A list API that never ends (a next-page token that comes back again, or new tokens on empty
pages forever) would keep a scan running, and growing, for good; retries and request timeouts
do not help because every single request succeeds. Each paginated read goes through
:func:`guarded_pages`, which stops it with a :class:`PagingError` when

- a next-page token repeats one already followed in this read (a loop),
- more pages than ``max_pages`` would be needed, or
- more items than ``max_items`` have arrived,

whichever comes first. The fetch half of each adapter turns the error into a CollectionError
for that scope and resource type (exit 3), so nothing about the resource type is reported as
clean. The limits are per resource type and scope (``--max-pages``, ``--max-items``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TypeVar

# Generous: the largest real estates need a few hundred pages of the biggest type per scope
# (10,000 security groups with 60 rules each is 600 pages of 1,000 rules).
DEFAULT_MAX_PAGES = 10_000
DEFAULT_MAX_ITEMS = 1_000_000
PAGING_HINT = ("the API kept answering with more pages; if the estate really is this large, "
               "raise --max-pages / --max-items, else report the endpoint (or the proxy in "
               "front of it) as faulty")
LOOP_HINT = ("the API sent a next-page token it had sent before, so the list would never end; "
             "report the endpoint (or the proxy in front of it) as faulty and scan again later")

Page = TypeVar("Page")


@dataclass(frozen=True, slots=True)
class PageLimits:
    """How far one paginated read of one resource type in one scope may go."""

    max_pages: int = DEFAULT_MAX_PAGES
    max_items: int = DEFAULT_MAX_ITEMS

    def __post_init__(self) -> None:
        if self.max_pages < 1 or self.max_items < 1:
            raise ValueError("page limits must be at least 1")


class PagingError(Exception):
    """A paginated read stopped because it would not end; ``code`` says how.

    Codes: ``PaginationLoop`` (a token repeated), ``PageLimit``, ``ItemLimit``.
    """

    def __init__(self, code: str, what: str, reason: str) -> None:
        super().__init__(f"{what}: {reason}")
        self.code = code
        self.what = what
        self.reason = reason

    @property
    def hint(self) -> str:
        return LOOP_HINT if self.code == "PaginationLoop" else PAGING_HINT


class PageGuard:
    """Counts pages and items of one read and remembers the tokens already followed.

    Tokens are remembered by digest, so a hostile server sending huge tokens cannot make the
    memory of them grow beyond ``max_pages`` small entries.
    """

    def __init__(self, what: str, limits: PageLimits | None = None) -> None:
        self.what = what
        self.limits = limits or PageLimits()
        self.pages = 0
        self.items = 0
        self._seen: set[bytes] = set()

    def page(self, items: int, next_token: object) -> None:
        """Account for one page that arrived; raise before the next one would be asked for."""
        self.pages += 1
        self.items += items
        limits = self.limits
        if self.items > limits.max_items:
            raise PagingError("ItemLimit", self.what,
                              f"more than {limits.max_items} items (--max-items) after "
                              f"{self.pages} pages")
        if next_token in (None, "", b"") or next_token == {}:
            return
        digest = hashlib.blake2b(repr(next_token).encode("utf-8", "replace"),
                                 digest_size=16).digest()
        if digest in self._seen:
            raise PagingError("PaginationLoop", self.what,
                              f"the next-page token of page {self.pages} repeats an earlier one")
        if self.pages >= limits.max_pages:
            raise PagingError("PageLimit", self.what,
                              f"still more pages after {self.pages} (--max-pages)")
        self._seen.add(digest)


def guarded_pages(pages: Iterable[Page], what: str, limits: PageLimits | None,
                  count: Callable[[Page], int],
                  next_token: Callable[[Page], object]) -> Iterator[Page]:
    """``pages`` as they arrive, stopped by a :class:`PagingError` before a read runs away.

    ``count`` gives the number of items on a page, ``next_token`` its next-page token (None or
    empty on the last page). The check runs before the page is handed on, and before the next
    page is requested, so memory stays bounded by the limits.
    """
    guard = PageGuard(what, limits)
    for page in pages:
        guard.page(count(page), next_token(page))
        yield page


__all__ = ["DEFAULT_MAX_ITEMS", "DEFAULT_MAX_PAGES", "PageGuard", "PageLimits", "PagingError",
           "guarded_pages"]
