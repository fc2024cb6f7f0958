"""Rules of the standard a profile names: PDF/X-1a (Info keys, a CMYK output intent,
PDF 1.3), PDF/A (the XMP declaration, an output intent), PDF/UA (declaration, title,
language), and tagging, which PDF/UA and tagged profiles need.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pikepdf

from make_book.preflight.catalog import (
    NS_DC,
    NS_PDFAID,
    NS_PDFUAID,
    icc_header,
    output_intents,
    pdf_version,
    xmp,
)
from make_book.preflight.findings import Problem
from make_book.preflight.pdf_values import as_dict, entry, is_true, name_of, num, text_of
from make_book.profiles import Profile


def standard_problems(pdf: pikepdf.Pdf, profile: Profile) -> Iterator[Problem]:
    identification = profile.identification
    if profile.tagged or identification == "PDF/UA-1":
        yield from _tagging(pdf)
    if identification.startswith("PDF/X-1a"):
        yield from _pdfx_1a(pdf, identification)
    elif identification.startswith("PDF/A-"):
        yield from _pdfa(pdf, identification)
    elif identification == "PDF/UA-1":
        yield from _pdfua(pdf)


def _tagging(pdf: pikepdf.Pdf) -> Iterator[Problem]:
    if as_dict(pdf.Root.get("/StructTreeRoot")) is None:
        yield "tagged", "no structure tree (/StructTreeRoot): the file is not tagged"
    if not is_true(entry(pdf.Root.get("/MarkInfo"), "/Marked")):
        yield "tagged", "the catalog's /MarkInfo does not say /Marked true"


def _pdfx_1a(pdf: pikepdf.Pdf, identification: str) -> Iterator[Problem]:
    """ISO 15930-1 and -4: Info keys, a CMYK output intent, PDF 1.3 for 2001, no encryption."""
    info = as_dict(pdf.trailer.get("/Info")) or pikepdf.Dictionary()
    yield from _pdfx_version_keys(info, identification)
    if name_of(info.get("/Trapped")) not in ("True", "False"):
        yield "identification", "Info /Trapped is not /True or /False, as PDF/X needs"
    keys = ("Title", "CreationDate", "ModDate")
    missing = [key for key in keys if not text_of(info.get(f"/{key}"))]
    if missing:
        yield "identification", f"Info has no {', '.join(missing)}; PDF/X needs them"
    if not isinstance(pdf.trailer.get("/ID"), pikepdf.Array):
        yield "identification", "the trailer has no /ID; PDF/X needs one"
    yield from _pdfx_output_intent(pdf)
    major, minor = pdf_version(pdf)
    if identification.endswith(":2001") and (major, minor) > (1, 3):
        yield "pdf-version", f"PDF {major}.{minor}; {identification} must be PDF 1.3"
    if pdf.is_encrypted:
        yield "identification", "the file is encrypted; PDF/X allows no encryption"


def _pdfx_version_keys(info: pikepdf.Object, identification: str) -> Iterator[Problem]:
    """The Info keys that name the PDF/X part the file claims to conform to."""
    version = text_of(info.get("/GTS_PDFXVersion"))
    conformance = text_of(info.get("/GTS_PDFXConformance"))
    if identification == "PDF/X-1a:2001":
        # The 2001 edition names the family in the version key and the level in another.
        if (version, conformance) != ("PDF/X-1:2001", "PDF/X-1a:2001"):
            yield (
                "identification",
                (
                    f"Info has GTS_PDFXVersion {version!r} and GTS_PDFXConformance {conformance!r};"
                    " PDF/X-1a:2001 needs 'PDF/X-1:2001' and 'PDF/X-1a:2001' (ISO 15930-1)"
                ),
            )
    elif version != identification:
        yield "identification", f"Info has GTS_PDFXVersion {version!r}, not {identification!r}"


def _pdfx_output_intent(pdf: pikepdf.Pdf) -> Iterator[Problem]:
    intents = output_intents(pdf, "GTS_PDFX")
    if len(intents) != 1:
        yield "output-intent", f"{len(intents)} PDF/X OutputIntents (/S /GTS_PDFX); PDF/X needs 1"
    if not intents:
        return
    intent = intents[0]
    if not text_of(intent.get("/OutputConditionIdentifier")):
        yield "output-intent", "the PDF/X OutputIntent has no OutputConditionIdentifier"
    profile = intent.get("/DestOutputProfile")
    if isinstance(profile, pikepdf.Stream):
        header = icc_header(profile)
        if num(profile.get("/N")) != 4 or header[16:20] != b"CMYK":
            yield "output-intent", "the PDF/X output profile is not a CMYK ICC profile"
        elif header[12:16] != b"prtr":
            yield "output-intent", "the PDF/X output profile is not an output (printer) profile"
    elif not text_of(intent.get("/RegistryName")):
        # Without a profile the condition must be a registered one (at color.org).
        yield "output-intent", "the PDF/X OutputIntent has no DestOutputProfile or RegistryName"


def _pdfa(pdf: pikepdf.Pdf, identification: str) -> Iterator[Problem]:
    """PDF/A-2B and its kin: the XMP declaration and an output intent with its profile."""
    match = re.match(r"PDF/A-(\d)([A-Za-z])$", identification)
    part, level = (match[1], match[2].upper()) if match else ("", "")
    properties = xmp(pdf)
    found_part = properties.get(f"{{{NS_PDFAID}}}part", "")
    found_level = properties.get(f"{{{NS_PDFAID}}}conformance", "")
    if (found_part, found_level.upper()) != (part, level):
        yield (
            "identification",
            (
                f"the XMP declares pdfaid part {found_part!r} conformance {found_level!r};"
                f" {identification} needs part {part} conformance {level}"
            ),
        )
    intents = output_intents(pdf, "GTS_PDFA1")
    if not intents or not isinstance(intents[0].get("/DestOutputProfile"), pikepdf.Stream):
        yield "output-intent", "no PDF/A OutputIntent (/S /GTS_PDFA1) with a DestOutputProfile"
    if pdf.is_encrypted:
        yield "identification", "the file is encrypted; PDF/A allows no encryption"


def _pdfua(pdf: pikepdf.Pdf) -> Iterator[Problem]:
    """PDF/UA-1 beyond the tags: the declaration, a title shown as such, a language."""
    properties = xmp(pdf)
    part = properties.get(f"{{{NS_PDFUAID}}}part", "")
    if part != "1":
        yield "identification", f"the XMP declares pdfuaid part {part!r}; PDF/UA-1 needs part 1"
    if not properties.get(f"{{{NS_DC}}}title"):
        yield "identification", "the XMP metadata has no dc:title; PDF/UA needs one"
    if not is_true(entry(pdf.Root.get("/ViewerPreferences"), "/DisplayDocTitle")):
        yield "identification", "ViewerPreferences /DisplayDocTitle is not true; PDF/UA needs it"
    if not text_of(pdf.Root.get("/Lang")).strip():
        yield "identification", "the catalog has no /Lang; PDF/UA needs the document's language"
