#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder's Ubuntu image (in
# /autograder/source, the unzipped bundle): the system packages the grader uses, then the course's
# pinned Python environment in .venv/, which run_autograder uses for every submission.
set -euo pipefail
cd /autograder/source
export DEBIAN_FRONTEND=noninteractive

apt-get update -qq
# bubblewrap isolates the student's kernel where the container allows it (the grader checks, and
# says so when it cannot); prlimit (util-linux) bounds its memory and file sizes.
apt-get install -y -qq bubblewrap util-linux

# requirements.txt was frozen under Python 3.11: use it when the image's Ubuntu offers it, else
# the image's python3. Either needs its venv package (ensurepip) on Ubuntu.
if apt-cache show python3.11-venv >/dev/null 2>&1; then
  apt-get install -y -qq python3.11 python3.11-venv
fi
if command -v python3.11 >/dev/null; then
  python=python3.11
else
  python=python3
  apt-get install -y -qq python3-venv
fi
echo "setup: creating .venv with $("$python" --version)"
"$python" -m venv .venv
.venv/bin/python -m pip install --quiet --disable-pip-version-check -r requirements.txt

# Zip tools do not always keep the executable bit.
chmod +x run_autograder
if [ -e /autograder/run_autograder ]; then chmod +x /autograder/run_autograder; fi
