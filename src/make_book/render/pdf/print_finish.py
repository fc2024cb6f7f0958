"""Finishing a laid-out PDF for a printer: what WeasyPrint does not do itself.

WeasyPrint lays the pages out; this module rewrites the written file with
pikepdf so it meets a print profile: no outline or link annotations for the
printers that refuse them, blank pages to an even (and minimum) count, and for
PDF/X-1a:2001 every colour in DeviceGray or CMYK K, gray images, PDF 1.3 font
programs and an output intent. WeasyPrint's own PDF/X variant only writes the
label (see the README, "Print profiles"), which is why this exists.
"""

from __future__ import annotations

import io
import logging
import zlib
from importlib.resources import files
from pathlib import Path

import pikepdf
from fontTools.ttLib import TTFont
from PIL import Image, ImageCms

from make_book.profiles import Profile

log = logging.getLogger("make_book")

PDFX_VERSION = "PDF/X-1a:2001"  # the profile's identification, and the conformance level
PDFX_INFO_VERSION = "PDF/X-1:2001"  # ISO 15930-1 names the part in GTS_PDFXVersion
OUTPUT_CONDITION = "FOGRA39"  # registered at color.org: "Coated FOGRA39 (ISO 12647-2:2004)"
ICC_PROFILE = "FOGRA39-make-book.icc"


class PressError(Exception):
    """The file cannot be made to meet the profile (reported, never written)."""


class Inks:
    """How RGB becomes printable ink: K only from luminance (black-and-white interiors)."""

    printable: tuple[str, ...] = ("/DeviceGray",)  # image colour spaces kept as they are

    def colour(self, red: float, green: float, blue: float) -> tuple[float, ...]:
        """CMYK (0-1) for an RGB colour (0-1)."""
        black = round(1 - (0.299 * red + 0.587 * green + 0.114 * blue), 4)
        return (0, 0, 0, black)

    def image(self, picture: Image.Image) -> tuple[Image.Image, str]:
        """The picture in printable ink, and its PDF colour space."""
        return picture.convert("L"), "/DeviceGray"


class ManagedInks(Inks):
    """RGB to the output intent's CMYK through littleCMS (Pillow's ImageCms): covers."""

    printable = ("/DeviceGray", "/DeviceCMYK")

    def __init__(self) -> None:
        srgb = ImageCms.createProfile("sRGB")
        cmyk = ImageCms.ImageCmsProfile(io.BytesIO(_icc_profile()))
        intent = ImageCms.Intent.RELATIVE_COLORIMETRIC
        self.transform = ImageCms.buildTransform(srgb, cmyk, "RGB", "CMYK", intent)
        self.cache: dict[tuple[float, float, float], tuple[float, ...]] = {}

    def colour(self, red: float, green: float, blue: float) -> tuple[float, ...]:
        key = (red, green, blue)
        if key not in self.cache:
            rgb = tuple(round(v * 255) for v in key)
            pixel = ImageCms.applyTransform(Image.new("RGB", (1, 1), rgb), self.transform)
            assert pixel is not None
            self.cache[key] = tuple(round(v / 255, 4) for v in pixel.getpixel((0, 0)))  # type: ignore[union-attr]
        return self.cache[key]

    def image(self, picture: Image.Image) -> tuple[Image.Image, str]:
        converted = ImageCms.applyTransform(picture.convert("RGB"), self.transform)
        assert converted is not None
        return converted, "/DeviceCMYK"


def finish_for_print(path: Path, profile: Profile, title: str, inks: Inks | None = None) -> None:
    """Rewrite the PDF at `path` in place to meet `profile`."""
    with pikepdf.open(path, allow_overwriting_input=True) as pdf:
        if not profile.bookmarks:
            _drop_outline(pdf)
        if not profile.links:
            _drop_annotations(pdf)
        _pad_pages(pdf, profile)
        version = "1.3" if profile.identification == PDFX_VERSION else ""
        if version:
            _make_pdfx1a(pdf, title, inks or Inks())
        pdf.save(
            path,
            deterministic_id=True,
            force_version=version or None,
            object_stream_mode=pikepdf.ObjectStreamMode.disable
            if version
            else pikepdf.ObjectStreamMode.preserve,
            fix_metadata_version=not version,
        )


def _drop_outline(pdf: pikepdf.Pdf) -> None:
    for key in ("/Outlines", "/PageMode"):
        if key in pdf.Root:
            del pdf.Root[key]


def _drop_annotations(pdf: pikepdf.Pdf) -> None:
    for page in pdf.pages:
        if "/Annots" in page.obj:
            del page.obj["/Annots"]
    names = pdf.Root.get("/Names")
    if names is not None and "/Dests" in names:
        del names["/Dests"]  # link targets with no links left


def _pad_pages(pdf: pikepdf.Pdf, profile: Profile) -> None:
    """Blank pages at the end, up to the service's minimum and an even count."""
    count = len(pdf.pages)
    wanted = profile.padded(count)
    if wanted - count and count < profile.min_pages:
        log.warning(
            "%s: the book has %d pages; %d blank pages added to reach the minimum of %d",
            profile.name,
            count,
            wanted - count,
            profile.min_pages,
        )
    for index in range(count, wanted):
        # A blank page keeps the boxes of the last page on the same side (bleed is outside).
        model = pdf.pages[index - 2] if index >= 2 else pdf.pages[index - 1]
        blank = pikepdf.Dictionary(Type=pikepdf.Name.Page, Resources=pikepdf.Dictionary())
        for box in ("/MediaBox", "/TrimBox", "/BleedBox", "/CropBox"):
            if box in model.obj:
                blank[box] = pikepdf.Array(model.obj[box])
        pdf.pages.append(pikepdf.Page(pdf.make_indirect(blank)))


# ---------- PDF/X-1a:2001 ----------


def _make_pdfx1a(pdf: pikepdf.Pdf, title: str, inks: Inks) -> None:
    for page in pdf.pages:
        _convert_page(pdf, page.obj, inks)
    _bare_cff_fonts(pdf)
    if "/Metadata" in pdf.Root:
        del pdf.Root["/Metadata"]  # WeasyPrint's XMP would not match the 2001 label
    info = pdf.docinfo
    info["/GTS_PDFXVersion"] = PDFX_INFO_VERSION
    info["/GTS_PDFXConformance"] = PDFX_VERSION
    info["/Trapped"] = pikepdf.Name("/False")
    if "/Title" not in info:
        info["/Title"] = title
    pdf.Root["/OutputIntents"] = pikepdf.Array([_output_intent(pdf)])


def _output_intent(pdf: pikepdf.Pdf) -> pikepdf.Dictionary:
    stream = pikepdf.Stream(pdf, _icc_profile())
    stream["/N"] = 4
    return pikepdf.Dictionary(
        Type=pikepdf.Name.OutputIntent,
        S=pikepdf.Name.GTS_PDFX,
        OutputConditionIdentifier=OUTPUT_CONDITION,
        OutputCondition="Commercial and specialty offset, paper type 1 or 2, coated",
        RegistryName="http://www.color.org",
        Info="Coated FOGRA39 (ISO 12647-2:2004)",
        DestOutputProfile=pdf.make_indirect(stream),
    )


def _icc_profile() -> bytes:
    return (files("make_book") / "icc" / ICC_PROFILE).read_bytes()


def _convert_page(pdf: pikepdf.Pdf, page: pikepdf.Dictionary, inks: Inks) -> None:
    """Colours and images to ink, opaque graphics states: one page."""
    _convert_resources(pdf, page.get("/Resources", pikepdf.Dictionary()), set(), inks)
    data = _colours_to_ink(pikepdf.parse_content_stream(pikepdf.Page(page)), inks)
    if data is not None:
        page["/Contents"] = pdf.make_stream(data)


def _convert_resources(
    pdf: pikepdf.Pdf, resources: pikepdf.Object, seen: set[tuple[int, int]], inks: Inks
) -> None:
    """The images and form XObjects a content stream uses, recursively."""
    _check_graphics_states(resources)
    for name, xobject in resources.get("/XObject", pikepdf.Dictionary()).items():
        if xobject.objgen in seen:
            continue
        seen.add(xobject.objgen)
        if xobject.get("/Subtype") == pikepdf.Name.Image:
            _ink_image(xobject, name, inks)
        elif xobject.get("/Subtype") == pikepdf.Name.Form:
            form_resources = xobject.get("/Resources", pikepdf.Dictionary())
            _convert_resources(pdf, form_resources, seen, inks)
            data = _colours_to_ink(pikepdf.parse_content_stream(xobject), inks)
            if data is not None:
                xobject.write(data)


def _check_graphics_states(resources: pikepdf.Object) -> None:
    for name, state in resources.get("/ExtGState", pikepdf.Dictionary()).items():
        for key in ("/ca", "/CA"):
            if key in state and float(state[key]) < 1:
                raise PressError(f"transparency ({name} {key}) is not allowed in PDF/X-1a")
            if key in state:
                del state[key]  # opaque anyway, and the key is a PDF 1.4 feature
        if state.get("/SMask", pikepdf.Name.None_) != pikepdf.Name.None_:
            raise PressError(f"a soft mask ({name}) is not allowed in PDF/X-1a")
    if resources.get("/Shading") or resources.get("/Pattern"):
        raise PressError("gradients and patterns cannot be converted for PDF/X-1a")


_RGB_TO_CMYK = {"rg": "k", "RG": "K"}
_COLOUR_SPACE_OPERATORS = {"cs", "CS", "sc", "SC", "scn", "SCN"}


def _colours_to_ink(
    instructions: list[pikepdf.ContentStreamInstruction | pikepdf.ContentStreamInlineImage],
    inks: Inks,
) -> bytes | None:
    """RGB fills and strokes as CMYK (K only for interiors: never rich black).

    None when the stream has no RGB colour and can stay as it is.
    """
    out: list[pikepdf.ContentStreamInstruction | pikepdf.ContentStreamInlineImage] = []
    changed = False
    for instruction in instructions:
        if isinstance(instruction, pikepdf.ContentStreamInlineImage):
            raise PressError("an inline image cannot be converted for PDF/X-1a")
        operands, operator = list(instruction.operands), instruction.operator
        op = str(operator)
        if op in _COLOUR_SPACE_OPERATORS:
            raise PressError(f"colour operator {op} cannot be converted for PDF/X-1a")
        if op in _RGB_TO_CMYK:
            red, green, blue = (float(v) for v in operands)
            operands = list(inks.colour(red, green, blue))  # type: ignore[arg-type]
            operator = pikepdf.Operator(_RGB_TO_CMYK[op])
            changed = True
        out.append(pikepdf.ContentStreamInstruction(operands, operator))
    return pikepdf.unparse_content_stream(out) if changed else None


def _ink_image(image: pikepdf.Object, name: str, inks: Inks) -> None:
    """An image in printable ink (gray for interiors), any alpha flattened onto white."""
    if str(image.get("/ColorSpace")) in inks.printable and "/SMask" not in image:
        return
    try:
        _convert_image(image, name, inks)
    except (ValueError, OSError, NotImplementedError, pikepdf.PdfError) as exc:
        width, height = image.get("/Width"), image.get("/Height")
        raise PressError(f"an image ({width}×{height} px) cannot be converted: {exc}") from exc


def _convert_image(image: pikepdf.Object, name: str, inks: Inks) -> None:
    picture = _pil(image).convert("RGB")
    if "/SMask" in image:
        alpha = _pil(image.SMask).convert("L")
        flat = Image.new("RGB", picture.size, "white")
        flat.paste(picture, mask=alpha)
        picture = flat
    converted, space = inks.image(picture)
    for key in ("/SMask", "/DecodeParms", "/Decode", "/Mask", "/Intent"):
        if key in image:
            del image[key]
    image.write(zlib.compress(converted.tobytes(), 9), filter=pikepdf.Name.FlateDecode)
    image["/ColorSpace"] = pikepdf.Name(space)
    image["/BitsPerComponent"] = 8
    log.debug("press: image %s converted to %s", name, space)


def _pil(image: pikepdf.Object) -> Image.Image:
    if not isinstance(image, pikepdf.Stream):
        raise PressError("an image XObject is not a stream")
    return pikepdf.PdfImage(image).as_pil_image()


_BARE_CFF = {"/CIDFontType0": pikepdf.Name.CIDFontType0C, "/Type1": pikepdf.Name.Type1C}


def _bare_cff_fonts(pdf: pikepdf.Pdf) -> None:
    """PDF 1.3 knows CFF programs but not their OpenType wrapper: embed the CFF table alone."""
    done: set[tuple[int, int]] = set()
    for font in pdf.objects:
        if not isinstance(font, pikepdf.Dictionary) or font.get("/Type") != pikepdf.Name.Font:
            continue
        descriptor = font.get("/FontDescriptor")
        program = descriptor.get("/FontFile3") if descriptor is not None else None
        if program is None or program.get("/Subtype") != pikepdf.Name.OpenType:
            continue
        if program.objgen in done:
            continue
        done.add(program.objgen)
        subtype = _BARE_CFF.get(str(font.get("/Subtype")))
        wrapper = TTFont(io.BytesIO(program.read_bytes()))
        if subtype is None or "CFF " not in wrapper:
            raise PressError(f"font {font.get('/BaseFont')} cannot be embedded in PDF 1.3")
        program.write(wrapper.reader["CFF "])
        program["/Subtype"] = subtype
