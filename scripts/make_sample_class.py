"""Write the bundled sample class (sample_class/<student>/intro_ml.ipynb) from the test corpus.

The demo grades these notebooks; they are a handful of the corpus's submissions under student-like
names, so their expected scores are stated once, in tests/submissions.py.
"""

import sys
from pathlib import Path

COURSE = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(COURSE / "tests"))

from submissions import BY_NAME, write  # noqa: E402

SAMPLE_CLASS = {
    "ada": "model",
    "alan": "seed_landscape",
    "barbara": "sign_flip",
    "edsger": "numpy_style",
    "grace": "scatter_swapped",
    "linus": "history_without_start",
}

if __name__ == "__main__":
    for student, submission in SAMPLE_CLASS.items():
        print(write(BY_NAME[submission], COURSE / "sample_class" / student).relative_to(COURSE))
