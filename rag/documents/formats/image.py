"""Pictures of text (PNG, JPEG, TIFF, ...), read by OCR; each frame of a TIFF a page."""

from __future__ import annotations

import io
import warnings
from dataclasses import replace

from rag.documents.formats import ocr
from rag.documents.formats.base import Text, TextBuilder, UnreadableFile


def read_image(data: bytes) -> Text:
    """The text Tesseract finds in the picture, page by page for multi-page TIFFs."""
    builder = TextBuilder("page")
    pages = recognise_pages(data)
    for number, found in enumerate(pages, start=1):
        if not found.text:
            continue
        if len(builder):
            builder.add("\n\n")
        builder.page(number)
        builder.add(found.text)
    if not len(builder):
        raise UnreadableFile("image without text (OCR found none)")
    return replace(builder.build("image"), ocr_pages=len(pages))


def open_frames(data: bytes) -> list:  # list[PIL.Image.Image]
    """The picture's frames (pages), decoded; refuses damaged and oversized pictures."""
    from PIL import Image, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            picture = Image.open(io.BytesIO(data))
            frames = []
            for index in range(min(getattr(picture, "n_frames", 1), ocr.MAX_PAGES + 1)):
                picture.seek(index)
                frames.append(picture.convert("RGB"))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as err:
        raise UnreadableFile(f"image too large to read ({err})") from None
    except (UnidentifiedImageError, OSError, ValueError, EOFError) as err:
        raise UnreadableFile(f"damaged image ({type(err).__name__}: {err})") from None
    if len(frames) > ocr.MAX_PAGES:
        raise UnreadableFile(f"more than {ocr.MAX_PAGES} pages to read by OCR")
    return frames


def recognise_pages(data: bytes) -> list[ocr.Recognised]:
    """Each page's text with its characters' boxes: what :func:`read_image` indexes."""
    ocr.require()
    return ocr.recognise_all(iter(open_frames(data)))
