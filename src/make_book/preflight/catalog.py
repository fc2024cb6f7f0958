"""What the file says about itself, beyond its pages: its PDF version, its outline, its
output intents and ICC profiles, and its XMP metadata.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ElementTree

import pikepdf

from make_book.preflight.pdf_values import as_dict, entry, name_of

NS_RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
NS_DC = "http://purl.org/dc/elements/1.1/"
NS_PDFAID = "http://www.aiim.org/pdfa/ns/id/"
NS_PDFUAID = "http://www.aiim.org/pdfua/ns/id/"


def has_outline(pdf: pikepdf.Pdf) -> bool:
    return entry(pdf.Root.get("/Outlines"), "/First") is not None


def pdf_version(pdf: pikepdf.Pdf) -> tuple[int, int]:
    """The header's version, raised by the catalog's /Version when that is later."""
    found = [pdf.pdf_version, name_of(pdf.Root.get("/Version"))]
    versions = [re.match(r"(\d+)\.(\d+)$", v) for v in found]
    return max(((int(m[1]), int(m[2])) for m in versions if m), default=(0, 0))


def output_intents(pdf: pikepdf.Pdf, subtype: str) -> list[pikepdf.Object]:
    intents = pdf.Root.get("/OutputIntents")
    found = [as_dict(i) for i in intents] if isinstance(intents, pikepdf.Array) else []
    return [i for i in found if i is not None and name_of(i.get("/S")) == subtype]


def icc_header(profile: pikepdf.Object) -> bytes:
    """The start of an ICC profile: its device class at byte 12, its colour space at 16."""
    try:
        return profile.read_bytes()[:20]
    except pikepdf.PdfError:
        return b""  # a profile that cannot be decoded is no CMYK profile


def xmp(pdf: pikepdf.Pdf) -> dict[str, str]:
    """XMP properties as {"{namespace}name": value}; of an Alt, Seq or Bag, the first item."""
    stream = pdf.Root.get("/Metadata")
    if not isinstance(stream, pikepdf.Stream):
        return {}
    try:
        root = ElementTree.fromstring(stream.read_bytes())
    except ElementTree.ParseError:
        return {}  # unreadable metadata declares nothing
    properties: dict[str, str] = {}
    for description in root.iter(f"{{{NS_RDF}}}Description"):
        for attribute, value in description.attrib.items():
            properties.setdefault(attribute, value.strip())
        for child in description:
            item = child.find(f".//{{{NS_RDF}}}li")
            value = (item if item is not None else child).text or ""
            properties.setdefault(child.tag, value.strip())
    return properties
