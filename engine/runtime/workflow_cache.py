"""Recently saved workflows, kept in memory per process, keyed by (case id, version).

Deserializing a case's state is the largest fixed cost of completing a task. When the same process
saved the case last, the object it serialized is exactly what the stored state would deserialize
to: `take` hands it out only if the version read from the database in the same transaction still
matches, and a taker owns it (it is removed), so a failed transaction can never put back a
half-changed workflow. Several web or worker processes each have their own cache; a version
mismatch simply means a miss.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any


class WorkflowCache:
    def __init__(self, size: int = 256):
        self.size = size
        self._items: OrderedDict[int, tuple[int, Any]] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def take(self, case_id: int, version: int):
        if self.size <= 0:
            return None
        with self._lock:
            item = self._items.pop(case_id, None)
            if item is not None and item[0] == version:
                self.hits += 1
                return item[1]
            self.misses += 1
            return None

    def put(self, case_id: int, version: int, workflow: Any) -> None:
        if self.size <= 0:
            return
        with self._lock:
            self._items[case_id] = (version, workflow)
            self._items.move_to_end(case_id)
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
