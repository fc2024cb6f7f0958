"""The preflight, on real PDFs: WeasyPrint output, and copies broken on purpose with pikepdf.

Each broken copy must fail for the rule that was broken, on the page it was broken on;
a clean file must pass the profile it satisfies.
"""

from __future__ import annotations

import base64
import io
import re
import shutil
from collections.abc import Callable
from pathlib import Path

import pikepdf
import pytest
import weasyprint
from PIL import Image

from make_book.preflight.checks import Finding, preflight
from make_book.profiles import BLEED, PROFILES

PT = 72.0
KDP, INGRAM, SCREEN, ARCHIVE = (PROFILES[name] for name in ("kdp", "ingram", "screen", "archive"))
PAGE_CSS = """
@page { size: 6in 9in; margin: 1in }
body { margin: 0 }
h1, h2, h3, h4, h5, h6 { bookmark-level: none }
section { break-before: page }
p { text-align: justify }
"""
Edit = Callable[[pikepdf.Pdf], None]


def write_html(path: Path, body: str, css: str = PAGE_CSS, **options: object) -> Path:
    html = f"<html lang='en'><head><title>Test</title><style>{css}</style></head>{body}</html>"
    weasyprint.HTML(string=html).write_pdf(path, **options)
    return path


def sections(count: int) -> str:
    text = "A plain paragraph of text, set in black, well inside the margins. " * 4
    return "".join(f"<section><h2>Part {n}</h2><p>{text}</p></section>" for n in range(count))


def edited(source: Path, target: Path, edit: Edit, **save: object) -> Path:
    """A copy of `source` changed by `edit`."""
    with pikepdf.open(source) as pdf:
        edit(pdf)
        pdf.save(target, **save)
    return target


def broken_press(press_ready: Path, name: str, edit: Edit) -> Path:
    """A copy of the PDF/X-1a:2001 file changed by `edit`, still PDF 1.3."""
    return edited(press_ready, press_ready.with_name(name), edit, force_version="1.3")


def rewrite_content(page: pikepdf.Page, change: Callable[[bytes], bytes]) -> None:
    contents = page.obj.Contents  # WeasyPrint writes one stream per page
    contents.write(change(contents.read_bytes()))


def rules(findings: list[Finding]) -> set[str]:
    return {finding.rule for finding in findings}


def only(findings: list[Finding], rule: str) -> list[Finding]:
    return [finding for finding in findings if finding.rule == rule]


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("preflight")


@pytest.fixture(scope="module")
def clean(folder: Path) -> Path:
    """24 pages of 6x9 in, 1 in margins, fonts embedded, no links or bookmarks: a KDP file."""
    return write_html(folder / "clean.pdf", sections(24))


@pytest.fixture(scope="module")
def press_ready(folder: Path, clean: Path) -> Path:
    """The clean file finished as PDF/X-1a:2001: black as K, Info keys, a CMYK intent, PDF 1.3."""

    def finish(pdf: pikepdf.Pdf) -> None:
        for page in pdf.pages:
            rewrite_content(page, lambda data: data.replace(b"0 0 0 rg", b"0 0 0 1 k"))
        pdf.docinfo["/GTS_PDFXVersion"] = "PDF/X-1:2001"
        pdf.docinfo["/GTS_PDFXConformance"] = "PDF/X-1a:2001"
        pdf.docinfo["/Trapped"] = pikepdf.Name("/False")
        pdf.docinfo["/CreationDate"] = pdf.docinfo["/ModDate"] = "D:20250301000000Z"
        # Only the header of the output profile is read: class "prtr", colour space "CMYK".
        header = bytearray(128)
        header[12:20], header[36:40] = b"prtrCMYK", b"acsp"
        profile = pdf.make_stream(bytes(header), N=4)
        intent = pikepdf.Dictionary(
            Type=pikepdf.Name.OutputIntent,
            S=pikepdf.Name.GTS_PDFX,
            OutputConditionIdentifier="FOGRA39",
            DestOutputProfile=profile,
        )
        pdf.Root.OutputIntents = pikepdf.Array([intent])

    return edited(
        clean,
        folder / "press-ready.pdf",
        finish,
        force_version="1.3",
        object_stream_mode=pikepdf.ObjectStreamMode.disable,
    )


# ---------------------------------------------------------------- clean files pass


def test_clean_file_passes_kdp(clean: Path) -> None:
    assert preflight(clean, KDP) == []
    assert preflight(clean, KDP, trim=(6, 9), bleed=False) == []


def test_press_ready_file_passes_ingram(press_ready: Path) -> None:
    assert preflight(press_ready, INGRAM, trim=(6, 9), bleed=False) == []


def test_weasyprint_pdf_ua_passes_screen(folder: Path) -> None:
    path = write_html(folder / "ua.pdf", sections(2), pdf_variant="pdf/ua-1")
    assert preflight(path, SCREEN) == []


def test_weasyprint_pdf_a_2b_passes_archive_identification(folder: Path) -> None:
    path = write_html(folder / "a2b.pdf", sections(2), pdf_variant="pdf/a-2b")
    assert rules(preflight(path, ARCHIVE)) <= {"tagged"}  # tags are a separate option
    tagged = write_html(folder / "a2b-tags.pdf", sections(2), pdf_variant="pdf/a-2b", pdf_tags=True)
    assert preflight(tagged, ARCHIVE) == []


def test_what_else_the_caller_reads_is_read_in_the_same_opening(clean: Path) -> None:
    """`read_also` gets the open file once it is checked (the fallback-glyph check's font
    names, without opening the book a second time); its failure is the file's."""
    pages: list[int] = []
    assert preflight(clean, KDP, read_also=lambda pdf: pages.append(len(pdf.pages))) == []
    assert pages == [len(pikepdf.open(clean).pages)]

    def fails(pdf: pikepdf.Pdf) -> None:
        raise ValueError("no such entry")

    (finding,) = preflight(clean, KDP, read_also=fails)
    assert finding.rule == "unreadable" and "malformed" in finding.message


# ---------------------------------------------------------------- unreadable files


def test_a_file_that_is_not_a_pdf_is_one_unreadable_finding(tmp_path: Path) -> None:
    path = tmp_path / "notes.pdf"
    path.write_text("these are not the pages you are looking for", "utf-8")
    assert rules(preflight(path, KDP)) == {"unreadable"}
    assert len(preflight(path, KDP)) == 1


@pytest.mark.parametrize("keep", [0.5, 0.98, 0.999])
def test_a_truncated_pdf_is_one_unreadable_finding(
    clean: Path, tmp_path: Path, keep: float
) -> None:
    data = clean.read_bytes()
    path = tmp_path / "truncated.pdf"
    path.write_bytes(data[: int(len(data) * keep)])
    (finding,) = preflight(path, KDP)
    assert finding.rule == "unreadable" and finding.page is None
    assert "truncated.pdf" in str(finding)


def test_a_missing_file_is_one_unreadable_finding(tmp_path: Path) -> None:
    assert rules(preflight(tmp_path / "nowhere.pdf", KDP)) == {"unreadable"}


# ---------------------------------------------------------------- pages and boxes


def test_page_count_below_minimum_and_odd(folder: Path, clean: Path) -> None:
    path = edited(clean, folder / "23-pages.pdf", lambda pdf: pdf.pages.remove(p=23))
    findings = preflight(path, KDP)
    assert [(f.rule, f.page) for f in findings] == [("page-count", None), ("page-count", None)]
    assert "at least 24" in findings[0].message and "even" in findings[1].message


def test_one_page_of_another_size(folder: Path, clean: Path) -> None:
    def enlarge_page_7(pdf: pikepdf.Pdf) -> None:
        pdf.pages[6].obj.MediaBox = pdf.pages[6].obj.TrimBox = [0, 0, 612, 792]
        del pdf.pages[6].obj["/BleedBox"]

    findings = preflight(edited(clean, folder / "letter-page.pdf", enlarge_page_7), KDP)
    assert [(f.rule, f.page) for f in findings] == [("page-size", 7)]
    assert "8.5 × 11 in; expected 6 × 9 in" in findings[0].message


def test_trim_asked_for_differs_from_the_file(clean: Path) -> None:
    (finding,) = preflight(clean, KDP, trim=(5, 8))
    assert (finding.rule, finding.page) == ("page-size", 1)
    assert str(finding) == ("page 1: trim is 6 × 9 in; expected 5 × 8 in (also on pages 2-24)")


def _with_bleed(all_edges: bool) -> Edit:
    """Grow each MediaBox by the bleed: on the top, bottom and outside, or (wrong) all round."""

    def grow(pdf: pikepdf.Pdf) -> None:
        b = BLEED * PT
        for index, page in enumerate(pdf.pages):
            x0, y0, x1, y1 = (float(v) for v in page.obj.TrimBox)
            recto = index % 2 == 0
            left = b if all_edges or not recto else 0
            right = b if all_edges or recto else 0
            box = [x0 - left, y0 - b, x1 + right, y1 + b]
            page.obj.MediaBox = page.obj.BleedBox = box

    return grow


def test_bleed_on_the_outside_edges_passes(folder: Path, clean: Path) -> None:
    path = edited(clean, folder / "bleed.pdf", _with_bleed(all_edges=False))
    with pikepdf.open(path) as pdf:
        assert [round(float(v) / PT, 3) for v in pdf.pages[0].MediaBox][2:] == [6.125, 9.125]
    assert preflight(path, KDP, trim=(6, 9), bleed=True) == []
    assert preflight(path, KDP) == []  # bleed read from the file
    assert rules(preflight(path, KDP, bleed=False)) == {"page-size"}


def test_bleed_at_the_gutter_fails_every_page(folder: Path, clean: Path) -> None:
    path = edited(clean, folder / "bleed-all-round.pdf", _with_bleed(all_edges=True))
    findings = preflight(path, KDP, bleed=True)
    assert [(f.rule, f.page) for f in findings] == [("page-size", 1), ("page-size", 2)]
    assert "left 0.125" in findings[0].message and "expected" in findings[0].message
    assert "(also on pages 3, 5, 7" in findings[0].message  # rectos, then versos
    assert "(also on pages 4, 6, 8" in findings[1].message


def test_bleed_is_refused_where_the_profile_has_none(folder: Path, clean: Path) -> None:
    path = edited(clean, folder / "bleed-screen.pdf", _with_bleed(all_edges=False))
    page_size = only(preflight(path, SCREEN), "page-size")
    assert [f.page for f in page_size] == [None]


# ---------------------------------------------------------------- fonts


def _strip_font_files(pdf: pikepdf.Pdf) -> None:
    for font in pdf.pages[0].Resources.Font.values():
        descriptor = font.DescendantFonts[0].FontDescriptor
        for key in ("/FontFile", "/FontFile2", "/FontFile3"):
            if key in descriptor:
                del descriptor[key]


def test_font_not_embedded_is_reported_once_with_its_pages(folder: Path, clean: Path) -> None:
    path = edited(clean, folder / "no-font-file.pdf", _strip_font_files)
    findings = preflight(path, KDP)
    assert rules(findings) == {"fonts-embedded"}
    assert all(f.page == 1 for f in findings)
    assert all(
        re.search(r"font '.+' is not embedded \(also on pages 2-24\)$", f.message) for f in findings
    )
    assert rules(preflight(path, SCREEN)) >= {"fonts-embedded"}  # every profile wants them


def _standard_font_in_a_form(pdf: pikepdf.Pdf) -> None:
    """Page 6 draws a form XObject whose text is in Helvetica, which is not in the file."""
    helvetica = pikepdf.Dictionary(
        Type=pikepdf.Name.Font, Subtype=pikepdf.Name.Type1, BaseFont=pikepdf.Name.Helvetica
    )
    form = pdf.make_stream(
        b"BT /Helv 10 Tf 100 300 Td (Hello) Tj ET",
        Type=pikepdf.Name.XObject,
        Subtype=pikepdf.Name.Form,
        BBox=[0, 0, 432, 648],
        Resources=pikepdf.Dictionary(Font=pikepdf.Dictionary(Helv=helvetica)),
    )
    page = pdf.pages[5]
    page.Resources.XObject = pikepdf.Dictionary(Fm1=form)
    rewrite_content(page, lambda data: data + b"\nq /Fm1 Do Q\n")


def test_font_inside_a_form_xobject(folder: Path, clean: Path) -> None:
    path = edited(clean, folder / "form-font.pdf", _standard_font_in_a_form)
    expected = [("fonts-embedded", 6, "font 'Helvetica' is not embedded")]
    assert [(f.rule, f.page, f.message) for f in preflight(path, KDP)] == expected
    screen = [f for f in preflight(path, SCREEN) if f.rule == "fonts-embedded"]
    assert [(f.rule, f.page, f.message) for f in screen] == expected
    # A piece's yes-or-no check reads fonts from the resources, not the content.
    assert preflight(path, SCREEN, drawing_only=True)
    assert not preflight(clean, SCREEN, drawing_only=True)


def test_font_in_an_annotation_appearance(folder: Path) -> None:
    def stamp(pdf: pikepdf.Pdf) -> None:
        helvetica = pikepdf.Dictionary(
            Type=pikepdf.Name.Font, Subtype=pikepdf.Name.Type1, BaseFont=pikepdf.Name.Helvetica
        )
        appearance = pdf.make_stream(
            b"BT /Helv 9 Tf 2 2 Td (Note) Tj ET",
            Type=pikepdf.Name.XObject,
            Subtype=pikepdf.Name.Form,
            BBox=[0, 0, 40, 14],
            Resources=pikepdf.Dictionary(Font=pikepdf.Dictionary(Helv=helvetica)),
        )
        note = pikepdf.Dictionary(
            Type=pikepdf.Name.Annot,
            Subtype=pikepdf.Name.FreeText,
            Rect=[100, 100, 140, 114],
            AP=pikepdf.Dictionary(N=appearance),
        )
        pdf.pages[1].obj.Annots = pdf.make_indirect(pikepdf.Array([note]))

    source = write_html(folder / "ua-two.pdf", sections(2), pdf_variant="pdf/ua-1")
    path = edited(source, folder / "ua-stamped.pdf", stamp)
    findings = preflight(path, SCREEN)  # annotations are allowed on screen; fonts must be in
    assert [(f.rule, f.page, f.message) for f in findings] == [
        ("fonts-embedded", 2, "font 'Helvetica' is not embedded")
    ]


def test_type3_font_is_reported_for_print_only(folder: Path, clean: Path) -> None:
    def add_type3(pdf: pikepdf.Pdf) -> None:
        glyph = pdf.make_stream(b"500 0 d0 0 0 500 500 re f")
        font = pikepdf.Dictionary(
            Type=pikepdf.Name.Font,
            Subtype=pikepdf.Name.Type3,
            Name=pikepdf.Name.Dots,
            FontBBox=[0, 0, 500, 500],
            FontMatrix=[0.001, 0, 0, 0.001, 0, 0],
            CharProcs=pikepdf.Dictionary(dot=glyph),
            Encoding=pikepdf.Dictionary(Differences=[65, pikepdf.Name.dot]),
            FirstChar=65,
            LastChar=65,
            Widths=[500],
        )
        page = pdf.pages[1]
        page.Resources.Font.T3 = font  # WeasyPrint's pages share resources: only page 2 uses it
        rewrite_content(page, lambda data: data + b"\nBT /T3 12 Tf 100 100 Td (A) Tj ET\n")

    path = edited(clean, folder / "type3.pdf", add_type3)
    assert [(f.rule, f.page) for f in preflight(path, KDP)] == [("type3-font", 2)]
    assert "type3-font" not in rules(preflight(path, SCREEN))


# ---------------------------------------------------------------- annotations and bookmarks


def test_links_and_bookmarks_fail_print_profiles(folder: Path) -> None:
    body = (
        "<section><h1 style='bookmark-level: 1'>Chapter</h1><p>Intro</p></section>"
        "<section><p>See <a href='https://example.org'>the site</a>.</p></section>"
    )
    path = write_html(folder / "links.pdf", body)
    findings = preflight(path, KDP)
    assert ("bookmarks", None) in [(f.rule, f.page) for f in findings]
    (annotations,) = only(findings, "annotations")
    assert annotations.page == 2 and "(Link)" in annotations.message
    assert not rules(preflight(path, SCREEN)) & {"annotations", "bookmarks"}


def test_an_annotation_added_to_one_page(folder: Path, clean: Path) -> None:
    def annotate(pdf: pikepdf.Pdf) -> None:
        note = pikepdf.Dictionary(
            Type=pikepdf.Name.Annot, Subtype=pikepdf.Name.Text, Rect=[100, 100, 120, 120]
        )
        pdf.pages[3].obj.Annots = pdf.make_indirect(pikepdf.Array([note]))

    findings = preflight(edited(clean, folder / "note.pdf", annotate), KDP)
    assert [(f.rule, f.page) for f in findings] == [("annotations", 4)]


# ---------------------------------------------------------------- images


def _png(size: tuple[int, int], mode: str = "L") -> str:
    buffer = io.BytesIO()
    Image.new(mode, size, 128).save(buffer, "PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def test_low_resolution_image_at_its_placed_size(folder: Path) -> None:
    body = (
        "<section><p>Text</p></section>"
        f"<section><img src='{_png((300, 150))}' style='width: 3in'></section>"
        f"<section><img src='{_png((900, 450))}' style='width: 3in'></section>"
    )
    findings = only(preflight(write_html(folder / "images.pdf", body), KDP), "image-dpi")
    assert [(f.page, f.message) for f in findings] == [
        (2, "image 300×150 px placed at 3 × 1.5 in is 100 dpi; kdp needs 300")
    ]
    assert not only(preflight(folder / "images.pdf", SCREEN), "image-dpi")


def test_image_scaled_by_a_form_matrix(folder: Path, clean: Path) -> None:
    """A 600 px image drawn 4 in wide inside a form that halves it: 2 in, so 300 dpi."""

    def draw_in_form(pdf: pikepdf.Pdf, matrix: list[float]) -> None:
        image = pdf.make_stream(
            bytes(600 * 600),
            Type=pikepdf.Name.XObject,
            Subtype=pikepdf.Name.Image,
            Width=600,
            Height=600,
            ColorSpace=pikepdf.Name.DeviceGray,
            BitsPerComponent=8,
        )
        form = pdf.make_stream(
            b"q 288 0 0 288 0 0 cm /Im1 Do Q",
            Type=pikepdf.Name.XObject,
            Subtype=pikepdf.Name.Form,
            BBox=[0, 0, 288, 288],
            Matrix=matrix,
            Resources=pikepdf.Dictionary(XObject=pikepdf.Dictionary(Im1=image)),
        )
        page = pdf.pages[2]
        page.Resources.XObject = pikepdf.Dictionary(Fm1=form)
        rewrite_content(page, lambda data: data + b"\nq 1 0 0 1 100 100 cm /Fm1 Do Q\n")

    halved = edited(
        clean, folder / "form-half.pdf", lambda pdf: draw_in_form(pdf, [0.5, 0, 0, 0.5, 0, 0])
    )
    assert preflight(halved, KDP) == []
    whole = edited(
        clean, folder / "form-whole.pdf", lambda pdf: draw_in_form(pdf, [1, 0, 0, 1, 0, 0])
    )
    (finding,) = preflight(whole, KDP)
    assert (finding.rule, finding.page) == ("image-dpi", 3)
    assert "placed at 4 × 4 in is 150 dpi" in finding.message


# ---------------------------------------------------------------- colour and transparency


def test_weasyprint_pdf_x_1a_without_conversion_fails_ingram(folder: Path) -> None:
    image = _png((600, 300), "RGB")
    body = f"<p style='color: #c00'>Red</p><img src='{image}' style='width: 2in'>"
    path = write_html(folder / "x1a.pdf", body, pdf_variant="pdf/x-1a")
    findings = preflight(path, INGRAM)
    colour = only(findings, "colour-space")
    assert {f.page for f in colour} == {1}
    assert {f.message for f in colour} >= {
        "DeviceRGB colour used for text",
        "DeviceRGB image 600×300 px",
    }
    # WeasyPrint declares PDF/X-1a:2003, in a PDF 1.4 file, with no output intent.
    assert {"identification", "pdf-version", "output-intent"} <= rules(findings)


def test_rich_black_and_total_ink_on_one_page(folder: Path, press_ready: Path) -> None:
    def rich_black_page_3(pdf: pikepdf.Pdf) -> None:
        rewrite_content(pdf.pages[2], lambda data: data.replace(b"0 0 0 1 k", b"0.6 0.5 0.4 1 k"))

    path = broken_press(press_ready, "rich-black.pdf", rich_black_page_3)
    findings = preflight(path, INGRAM)
    assert [(f.rule, f.page) for f in findings] == [("rich-black", 3), ("total-ink", 3)]
    assert "C 60% M 50% Y 40% K 100%" in findings[0].message
    assert "250% total ink" in findings[1].message


def test_rgb_black_text_on_one_page_fails_ingram(folder: Path, press_ready: Path) -> None:
    def rgb_page_9(pdf: pikepdf.Pdf) -> None:
        rewrite_content(pdf.pages[8], lambda data: data.replace(b"0 0 0 1 k", b"0 0 0 rg"))

    path = broken_press(press_ready, "rgb-page.pdf", rgb_page_9)
    findings = preflight(path, INGRAM)
    assert [(f.rule, f.page, f.message) for f in findings] == [
        ("colour-space", 9, "DeviceRGB colour used for text")
    ]


def test_rgb_through_a_named_colour_space(folder: Path, press_ready: Path) -> None:
    def icc_rgb_page_2(pdf: pikepdf.Pdf) -> None:
        page = pdf.pages[1]
        page.Resources.ColorSpace = pikepdf.Dictionary(
            CS0=pikepdf.Array([pikepdf.Name.ICCBased, pdf.make_stream(b"", N=3)])
        )
        rewrite_content(page, lambda data: data.replace(b"0 0 0 1 k", b"/CS0 cs 0 0 0 sc"))

    path = broken_press(press_ready, "icc-rgb.pdf", icc_rgb_page_2)
    findings = preflight(path, INGRAM)
    assert [(f.rule, f.page, f.message) for f in findings] == [
        ("colour-space", 2, "ICCBased RGB colour used for text")
    ]


def test_transparent_graphics_state(folder: Path, press_ready: Path) -> None:
    def half_opaque_page_2(pdf: pikepdf.Pdf) -> None:
        page = pdf.pages[1]
        page.Resources.ExtGState.GS1 = pikepdf.Dictionary(ca=0.5)
        rewrite_content(page, lambda data: b"/GS1 gs\n" + data)

    path = broken_press(press_ready, "transparent.pdf", half_opaque_page_2)
    findings = preflight(path, INGRAM)
    assert [(f.rule, f.page, f.message) for f in findings] == [
        ("transparency", 2, "graphics state /GS1 sets /ca 0.5")
    ]
    assert "transparency" not in rules(preflight(path, KDP))


def test_inline_rgb_image_and_rgb_shading(press_ready: Path) -> None:
    def draw_page_5(pdf: pikepdf.Pdf) -> None:
        page = pdf.pages[4]
        blend = pikepdf.Dictionary(FunctionType=2, Domain=[0, 1], C0=[1, 0, 0], C1=[0, 0, 1], N=1)
        page.Resources.Shading = pikepdf.Dictionary(
            Sh0=pikepdf.Dictionary(
                ShadingType=2,
                ColorSpace=pikepdf.Name.DeviceRGB,
                Coords=[0, 0, 9, 0],
                Function=blend,
            )
        )
        inline = b"BI /W 2 /H 2 /CS /RGB /BPC 8 ID " + bytes(12) + b" EI"
        drawing = b"\nq 144 0 0 144 100 100 cm " + inline + b" Q q /Sh0 sh Q\n"
        rewrite_content(page, lambda data: data + drawing)

    findings = preflight(broken_press(press_ready, "inline.pdf", draw_page_5), INGRAM)
    assert [(f.rule, f.page, f.message) for f in findings] == [
        ("image-dpi", 5, "image 2×2 px placed at 2 × 2 in is 1 dpi; ingram needs 300"),
        ("colour-space", 5, "DeviceRGB image 2×2 px"),
        ("colour-space", 5, "DeviceRGB colour used for shadings"),
    ]


def test_image_with_a_soft_mask(press_ready: Path) -> None:
    def draw_page_7(pdf: pikepdf.Pdf) -> None:
        gray = {"ColorSpace": pikepdf.Name.DeviceGray, "BitsPerComponent": 8}
        size = {"Type": pikepdf.Name.XObject, "Subtype": pikepdf.Name.Image}
        size |= {"Width": 600, "Height": 600}
        mask = pdf.make_stream(bytes(600 * 600), **size, **gray)
        image = pdf.make_stream(bytes(600 * 600), **size, **gray, SMask=mask)
        page = pdf.pages[6]
        page.Resources.XObject = pikepdf.Dictionary(Im9=image)
        rewrite_content(page, lambda data: data + b"\nq 144 0 0 144 100 100 cm /Im9 Do Q\n")

    findings = preflight(broken_press(press_ready, "soft-mask.pdf", draw_page_7), INGRAM)
    assert [(f.rule, f.page, f.message) for f in findings] == [
        ("transparency", 7, "image 600×600 px has a soft mask (alpha)")
    ]


# ---------------------------------------------------------------- identification


def _wrong_version(pdf: pikepdf.Pdf) -> None:
    pdf.docinfo["/GTS_PDFXVersion"] = "PDF/X-1a:2001"  # the 2001 edition says PDF/X-1:2001


def _untrapped(pdf: pikepdf.Pdf) -> None:
    del pdf.docinfo["/Trapped"]


def _no_output_intent(pdf: pikepdf.Pdf) -> None:
    del pdf.Root["/OutputIntents"]


@pytest.mark.parametrize(
    ("edit", "rule"),
    [
        (_wrong_version, "identification"),
        (_untrapped, "identification"),
        (_no_output_intent, "output-intent"),
    ],
)
def test_pdf_x_identification_broken(press_ready: Path, edit: Edit, rule: str) -> None:
    findings = preflight(broken_press(press_ready, f"{edit.__name__}.pdf", edit), INGRAM)
    assert [(f.rule, f.page) for f in findings] == [(rule, None)]


def test_pdf_x_1a_2001_must_be_pdf_1_3(folder: Path, press_ready: Path) -> None:
    path = edited(press_ready, folder / "x-1.4.pdf", lambda pdf: None, force_version="1.4")
    assert [(f.rule, f.message) for f in preflight(path, INGRAM)] == [
        ("pdf-version", "PDF 1.4; PDF/X-1a:2001 must be PDF 1.3")
    ]


def test_pdf_ua_needs_its_declaration(folder: Path) -> None:
    path = write_html(folder / "plain.pdf", sections(1))
    findings = preflight(path, SCREEN)
    assert rules(findings) == {"tagged", "identification"}
    assert all(f.page is None for f in findings)


# ---------------------------------------------------------------- margins


def _shift_page(index: int, dx: float, dy: float) -> Edit:
    def shift(pdf: pikepdf.Pdf) -> None:
        rewrite_content(pdf.pages[index], lambda data: b"1 0 0 1 %g %g cm\n" % (dx, dy) + data)

    return shift


def test_text_in_the_gutter_of_a_right_hand_page(folder: Path, clean: Path) -> None:
    # 1 in margins; moved 0.8 in left, page 5's text is 0.2 in from its inside edge.
    path = edited(clean, folder / "gutter.pdf", _shift_page(4, -0.8 * PT, 0))
    (finding,) = preflight(path, KDP)
    assert (finding.rule, finding.page) == ("margins", 5)
    assert finding.message == "text 0.20 in from the left (gutter) trim edge; kdp needs 0.375 in"


def test_text_in_the_gutter_of_a_left_hand_page_measured_by_its_widths(
    folder: Path, clean: Path
) -> None:
    # Justified lines end at the right margin, 1 in from the trim: the glyph widths of the
    # embedded fonts must carry the measure there. Moved 0.9 in right, 0.1 in is left.
    path = edited(clean, folder / "verso-gutter.pdf", _shift_page(5, 0.9 * PT, 0))
    (finding,) = preflight(path, KDP)
    assert (finding.rule, finding.page) == ("margins", 6)
    assert finding.message == "text 0.10 in from the right (gutter) trim edge; kdp needs 0.375 in"


def test_text_too_near_the_top_for_ingram_but_not_for_kdp(folder: Path, press_ready: Path) -> None:
    # The heading's top is 1.24 in below the trim; moved up 0.9 in, it is 0.34 in below.
    path = broken_press(press_ready, "high.pdf", _shift_page(9, 0, 0.9 * PT))
    (finding,) = preflight(path, INGRAM)
    assert (finding.rule, finding.page) == ("margins", 10)
    assert finding.message == "text 0.34 in from the top trim edge; ingram needs 0.5 in"
    assert preflight(path, KDP) == []  # enough for KDP's 0.25 in


def test_margins_are_not_checked_for_the_screen(folder: Path, clean: Path) -> None:
    path = edited(clean, folder / "off-page.pdf", _shift_page(0, -2 * PT, 0))
    assert "margins" not in rules(preflight(path, SCREEN))


# ---------------------------------------------------------------- reporting


def test_finding_reads_as_a_sentence() -> None:
    assert str(Finding("fonts-embedded", "font 'Foo' is not embedded", 3)) == (
        "page 3: font 'Foo' is not embedded"
    )
    assert str(Finding("page-count", "23 pages; kdp needs at least 24")) == (
        "23 pages; kdp needs at least 24"
    )


def test_findings_are_deterministic(folder: Path, clean: Path) -> None:
    path = edited(clean, folder / "many.pdf", _with_bleed(all_edges=True))
    shutil.copy(path, folder / "many-again.pdf")
    assert preflight(path, INGRAM) == preflight(folder / "many-again.pdf", INGRAM)
    pages = [f.page for f in preflight(path, INGRAM)]
    assert pages == sorted(pages, key=lambda page: 0 if page is None else page)


def test_a_files_boxes_are_read_once_for_each_way_they_are_written() -> None:
    """The preflight reads each written form of a box once per file (geometry.BoxReader):
    the same boxes as read one by one, a different box for different numbers, and
    nothing for what is not an array of four numbers."""
    from make_book.preflight.geometry import Box, BoxReader

    pdf = pikepdf.new()
    trim = pikepdf.Array([9, 9, 441, 657])
    values: list[object] = [
        pikepdf.Array([0, 0, 450, 666]),
        pikepdf.Array([0, 0, 450, 666]),
        trim,
        pdf.make_indirect(pikepdf.Array([0, 0, 450.5, 666])),
        pikepdf.Array([0, 0, 450]),
        pikepdf.Name("/MediaBox"),
        None,
    ]
    read = BoxReader()
    assert [read(value) for value in values] == [Box.read(value) for value in values]
    assert read(values[0]) == Box(0, 0, 450, 666) != read(values[3])
    assert len(read.boxes) == 4, "the repeated box read once"
