"""A ledger of timed writes against a registry, and what it implies about the final state.

Every write is recorded with when it was sent and when its answer arrived, and whether the
registry acknowledged it. Two operations overlap unless one's answer came before the other was
sent; overlapping operations may take effect in either order, so the checks below only demand
what every such order agrees on.
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Op:
    """One write: ``kind`` (put/delete), its target value, send and answer times, and its ack."""

    kind: str
    value: str
    start: float
    end: float
    acked: bool


@dataclass
class Ledger:
    """Writes per key: ``("blob", repo, digest)``, ``("manifest", repo, digest)``, ``("tag", repo, tag)``."""

    ops: dict[tuple[str, str, str], list[Op]] = field(default_factory=lambda: defaultdict(list))
    # Values ever sent to a key, recorded before sending: a write still in flight may have landed.
    intended: dict[tuple[str, str, str], set[str]] = field(default_factory=lambda: defaultdict(set))

    def intend(self, key: tuple[str, str, str], value: str) -> float:
        """Note that a write of ``value`` to ``key`` is about to be sent; return the send time."""
        self.intended[key].add(value)
        return time.monotonic()

    def record(
        self, key: tuple[str, str, str], kind: str, value: str, start: float, acked: bool
    ) -> None:
        self.ops[key].append(Op(kind, value, start, time.monotonic(), acked))

    def must_exist(self, key: tuple[str, str, str], deletes: list[Op] | None = None) -> bool:
        """An acknowledged put was sent after every delete that could affect ``key`` had ended."""
        ops = self.ops.get(key, [])
        deletes = [o for o in ops if o.kind == "delete"] + (deletes or [])
        last_delete_end = max((o.end for o in deletes), default=float("-inf"))
        return any(o.kind == "put" and o.acked and o.start > last_delete_end for o in ops)

    def must_be_gone(self, key: tuple[str, str, str]) -> bool:
        """An acknowledged delete was sent after every put (acknowledged or not) had ended."""
        ops = self.ops.get(key, [])
        last_put_end = max((o.end for o in ops if o.kind == "put"), default=float("-inf"))
        return any(o.kind == "delete" and o.acked and o.start > last_put_end for o in ops)

    def tag_candidates(self, key: tuple[str, str, str]) -> set[str]:
        """Digests the tag may name: the last acknowledged write and everything overlapping it or
        sent later (an unacknowledged write may still have landed)."""
        puts = [o for o in self.ops.get(key, []) if o.kind == "put"]
        acked = [o for o in puts if o.acked]
        if not acked:
            return {o.value for o in puts}
        latest = max(acked, key=lambda o: o.start)
        return {o.value for o in puts if o.end >= latest.start}

    def written_values(self, key: tuple[str, str, str]) -> set[str]:
        return {o.value for o in self.ops.get(key, []) if o.kind == "put"}
