"""Importing a library without the optional packages it would load and never use here.

spaCy's thinc imports torch whenever torch is installed (about 2 s; `en_core_web_sm` runs on
numpy), and LightGBM imports scikit-learn and pandas (about 1.8 s and 0.7 s, for estimator
wrappers and data frames the answerer does not use). Both treat these packages as optional:
when the import fails they go without. `hidden("torch")` makes that import fail for the
duration of the block, unless the package is already loaded, so a cold `qa ask` pays for none
of them.

While a package is hidden, no thread can import it. Code that imports a hidden package
(the sentence-transformers embedder imports torch) does so under `importing()`, which waits
for every `hidden` block to end.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_LOCK = threading.RLock()


@contextmanager
def hidden(*names: str) -> Iterator[None]:
    with _LOCK:
        absent = [n for n in names if n not in sys.modules]
        for n in absent:
            sys.modules[n] = None  # type: ignore[assignment]  # `import n` raises ImportError
        try:
            yield
        finally:
            for n in absent:
                if n in sys.modules and sys.modules[n] is None:
                    del sys.modules[n]


@contextmanager
def importing() -> Iterator[None]:
    with _LOCK:
        yield
