"""Every "§N" in the repository names a section of docs/go-race-abi-notes.md."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
ABI_NOTES = REPO_ROOT / "docs" / "go-race-abi-notes.md"
SECTION_REFERENCE = re.compile(r"§(\d+(?:\.\d+)*)")


def test_every_section_reference_names_a_section_of_the_abi_notes():
    headings = re.findall(r"^#+ §(\d+(?:\.\d+)*) ", ABI_NOTES.read_text(), re.MULTILINE)
    assert headings, "the ABI notes number their sections"
    tracked = subprocess.run(["git", "ls-files", "-z"], cwd=REPO_ROOT, capture_output=True,
                             check=True).stdout.decode().split("\0")
    dangling = []
    for name in filter(None, tracked):
        path = REPO_ROOT / name
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, FileNotFoundError, IsADirectoryError):
            continue
        for match in SECTION_REFERENCE.finditer(text):
            if match.group(1) not in headings:
                line = text.count("\n", 0, match.start()) + 1
                dangling.append(f"{name}:{line}: {match.group(0)}")
    assert not dangling, "references to sections that do not exist:\n" + "\n".join(dangling)
