"""EPUB books: the chapters in reading order, their headings as sections."""

from __future__ import annotations

import posixpath
import xml.etree.ElementTree as ElementTree

from rag.documents.formats.base import Text, TextBuilder, UnreadableFile, decode, open_zip
from rag.documents.formats.html import add_html

_CONTAINER = "META-INF/container.xml"


def read_epub(data: bytes) -> Text:
    """Every chapter of the spine (the book's reading order), as HTML is read."""
    archive = open_zip(data, "EPUB")
    try:
        container = ElementTree.fromstring(archive.read(_CONTAINER))
        rootfile = next(e for e in container.iter() if e.tag.endswith("rootfile"))
        package_path = rootfile.attrib["full-path"]
        package = ElementTree.fromstring(archive.read(package_path))
        items = {
            e.attrib["id"]: e.attrib["href"]
            for e in package.iter()
            if e.tag.endswith("}item") and "id" in e.attrib and "href" in e.attrib
        }
        spine = [e.attrib["idref"] for e in package.iter() if e.tag.endswith("}itemref")]
        base = posixpath.dirname(package_path)
        chapters = [
            archive.read(posixpath.normpath(posixpath.join(base, items[ref].split("#")[0])))
            for ref in spine
            if ref in items
        ]
    except (KeyError, StopIteration, ElementTree.ParseError) as err:
        raise UnreadableFile(f"damaged EPUB ({type(err).__name__}: {err})") from None
    builder = TextBuilder()
    for chapter in chapters:
        add_html(decode(chapter).text, builder, title=False)  # a chapter's title is its file's
    if not len(builder):
        raise UnreadableFile("EPUB without text")
    return builder.build("epub")
