"""Every relative link in the repository's Markdown resolves, and the README stays a front door.

A link resolves when its file (or folder) exists; a ``#anchor`` into a Markdown file needs a
heading with that slug, by GitHub's rules (lower case, punctuation dropped, spaces to hyphens,
``-1``, ``-2`` ... for repeated headings).  Links inside code (fenced blocks, backticks) are text,
not links, and web addresses are not checked."""
import os
import re
import subprocess

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SKIP_DIRS = {".git", ".venv", "node_modules", "__pycache__", ".pytest_cache"}

FENCE = re.compile(r"^ {0,3}(```|~~~)")
INLINE_CODE = re.compile(r"(`+)(.+?)\1")
LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*(<[^>]*>|[^\s)]+)(?:\s+\"[^\"]*\")?\s*\)")
REFERENCE = re.compile(r"^ {0,3}\[[^\]]+\]:\s*(\S+)")
HTML = re.compile(r"""<(?:a|img)\b[^>]*?\b(?:href|src)\s*=\s*["']([^"']+)["']""", re.I)
HEADING = re.compile(r"^ {0,3}(#{1,6})\s+(.*?)\s*#*\s*$")


def markdown_files() -> list[str]:
    """Every *.md file git knows or would add (without git: every *.md outside .git/.venv)."""
    try:
        out = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard", "*.md"], cwd=REPO, capture_output=True, check=True)
        files = [f for f in out.stdout.decode().split("\0") if f]
        if files:
            return sorted(f for f in files if os.path.isfile(os.path.join(REPO, f)))
    except (OSError, subprocess.CalledProcessError):
        pass
    found = []
    for root, dirs, names in os.walk(REPO):
        dirs[:] = [d for d in dirs if d not in SKIP_DIRS]
        found += [os.path.relpath(os.path.join(root, n), REPO) for n in names if n.endswith(".md")]
    return sorted(found)


def prose_lines(text: str, keep_code: bool = False):
    """(line number, line) outside fenced code blocks, inline code removed unless ``keep_code``."""
    fenced = False
    for number, line in enumerate(text.splitlines(), 1):
        if FENCE.match(line):
            fenced = not fenced
            continue
        if not fenced:
            yield number, line if keep_code else INLINE_CODE.sub("", line)


def links(text: str):
    for number, line in prose_lines(text):
        for pattern in (LINK, REFERENCE, HTML):
            for match in pattern.finditer(line):
                yield number, match.group(1).strip("<>")


def slug(heading: str) -> str:
    """GitHub's anchor for a heading's text."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link's text only
    text = re.sub(r"<[^>]+>", "", text).replace("`", "").replace("*", "")
    text = re.sub(r"[^\w\- ]", "", text.strip().lower())
    return text.replace(" ", "-")


def anchors(path: str) -> set[str]:
    seen: dict[str, int] = {}
    out = set()
    with open(path, encoding="utf-8") as f:
        for _, line in prose_lines(f.read(), keep_code=True):
            match = HEADING.match(line)
            if not match:
                continue
            base = slug(match.group(2))
            n = seen.get(base, 0)
            seen[base] = n + 1
            out.add(base if n == 0 else f"{base}-{n}")
    return out


def broken_links(rel: str) -> list[str]:
    path = os.path.join(REPO, rel)
    with open(path, encoding="utf-8") as f:
        text = f.read()
    bad = []
    for number, target in links(text):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.I) or target.startswith("//"):
            continue  # http:, https:, mailto: ...
        file_part, _, anchor = target.partition("#")
        file_part = file_part.split("?")[0]
        resolved = path if not file_part else os.path.normpath(os.path.join(os.path.dirname(path), file_part))
        if file_part.startswith("/"):
            resolved = os.path.normpath(os.path.join(REPO, file_part.lstrip("/")))
        where = f"{rel}:{number}: {target}"
        if not os.path.exists(resolved):
            bad.append(f"{where} (no such file)")
        elif anchor and resolved.endswith(".md") and anchor.lower() not in anchors(resolved):
            bad.append(f"{where} (no heading '{anchor}' in {os.path.relpath(resolved, REPO)})")
    return bad


FILES = markdown_files()


def test_the_markdown_files_are_found():
    for rel in ("README.md", "docs/README.md", "benchmarks/README.md", "checkpoints/README.md"):
        assert rel in FILES, FILES


@pytest.mark.parametrize("rel", FILES)
def test_every_relative_link_resolves(rel):
    assert broken_links(rel) == []


def test_the_readme_is_a_front_door():
    with open(os.path.join(REPO, "README.md"), encoding="utf-8") as f:
        lines = f.read().splitlines()
    assert len(lines) <= 250, f"README.md has {len(lines)} lines; details belong in docs/"
    body = [line for line in lines if line.strip() and not line.startswith("# ")]
    assert body[:4] == ["```bash", "./run demo", "./run tests", "```"], body[:4]


def test_slugs_follow_github():
    assert slug("Hearing what a neuron hears (sonification)") == "hearing-what-a-neuron-hears-sonification"
    assert slug("How well it works: `benchmarks/sonification_quality.py`") == \
        "how-well-it-works-benchmarkssonification_qualitypy"
    assert slug("Play it in your DAW: any sound device, loops in bars, Ableton Link") == \
        "play-it-in-your-daw-any-sound-device-loops-in-bars-ableton-link"
    assert slug("What `./run demo` does") == "what-run-demo-does"
