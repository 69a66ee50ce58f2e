#!/usr/bin/env bash
# Set up (if needed), release the assignment, grade the bundled sample class and print its scores.
set -euo pipefail
cd "$(dirname "$0")"
scripts/setup.sh
export JAX_PLATFORMS=cpu
export PATH="$PWD/.venv/bin:$PATH"  # as if activated: nbgrader runs alembic from there

echo "== nbgrader generate_assignment intro_ml"
.venv/bin/nbgrader generate_assignment intro_ml --log-level=WARN

echo "== collecting the sample class into submitted/ (existing submissions are kept)"
for notebook in sample_class/*/intro_ml.ipynb; do
  student=$(basename "$(dirname "$notebook")")
  mkdir -p "submitted/$student/intro_ml"
  [ -e "submitted/$student/intro_ml/intro_ml.ipynb" ] || cp "$notebook" "submitted/$student/intro_ml/"
done

echo "== grading in sandboxed kernels (already graded submissions are skipped; --force grades again)"
echo "   gradient_tuple, the hand-graded question, shows as '-' until it is graded in formgrader"
.venv/bin/python -m autograder grade intro_ml
