#!/usr/bin/env python3
"""Checks the docs site's links: every SUMMARY entry and every relative Markdown link in
sdk-docs/src points at a file that exists, and every `#anchor` into a page names one of its
headings (as mdBook makes ids: lower case, spaces to '-', punctuation dropped). With
`--book DIR` (the built site), a link to an `.html` page (the API references under `api/`) must
name a file of the built site. Exit 1 with the list of broken links."""
import pathlib
import re
import sys

SRC = pathlib.Path(__file__).resolve().parent.parent / "sdk-docs" / "src"
LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)")
HEADING = re.compile(r"^#{1,6}\s+(.*)$")


def anchor(text):
    text = re.sub(r"`|\*|_", "", text.strip()).lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(page):
    out = set()
    in_code = False
    for line in page.read_text(encoding="utf-8").splitlines():
        if line.startswith("```"):
            in_code = not in_code
        m = HEADING.match(line)
        if m and not in_code:
            out.add(anchor(m.group(1)))
    return out


BOOK = None
if len(sys.argv) == 3 and sys.argv[1] == "--book":
    BOOK = pathlib.Path(sys.argv[2]).resolve()
elif len(sys.argv) != 1:
    sys.exit("usage: check_doc_links.py [--book BUILT_SITE_DIR]")

broken = []
pages = sorted(SRC.rglob("*.md"))
for page in pages:
    in_code = False
    for n, line in enumerate(page.read_text(encoding="utf-8").splitlines(), 1):
        if line.startswith("```"):
            in_code = not in_code
        if in_code:
            continue
        for target in LINK.findall(line):
            if re.match(r"^[a-z]+:", target):
                continue  # external (https:, mailto:, smartpos:)
            path, _, frag = target.partition("#")
            dest = (page.parent / path).resolve() if path else page
            where = f"{page.relative_to(SRC)}:{n}"
            if path.endswith(".html"):
                # A page of the built site (an API reference): checked against the build.
                if BOOK is None:
                    continue
                built = BOOK / dest.relative_to(SRC)
                if not built.exists():
                    broken.append(f"{where}: {target} (not in the built site)")
                continue
            if not dest.exists():
                broken.append(f"{where}: {target} (no such file)")
            elif frag and dest.suffix == ".md" and frag not in anchors(dest):
                broken.append(f"{where}: {target} (no heading #{frag})")
summary = (SRC / "SUMMARY.md").read_text(encoding="utf-8")
listed = {(SRC / t).resolve() for t in LINK.findall(summary)}
for page in pages:
    if page.name != "SUMMARY.md" and page.resolve() not in listed:
        broken.append(f"{page.relative_to(SRC)}: not in SUMMARY.md (unreachable in the site)")
print(f"doc links: {len(pages)} pages checked, {len(broken)} broken")
for b in broken:
    print("  " + b)
sys.exit(1 if broken else 0)
