"""Reading a finished PDF and listing every way it breaks a print profile's rules.

`checks.preflight` is the entry point; it returns `findings.Finding`s. Each module owns
one thing, in layers from reading the file up to the rules:

- `pdf_values`: lenient readers of a PDF's numbers, names and dictionaries
- `geometry`: points and inches, matrices, a page's boxes, recto and verso
- `colour_spaces`, `font_metrics`, `shown_strings`: reading colour spaces, font widths
  and the operands of Tj and TJ
- `marks`: the graphics state, and what a page draws (fonts, images, colours, text extent)
- `parsed`: forms, fonts and images read once each; `resources`: annotation appearances
  and every font a page can reach
- `text`, `colour_operators`: what the text and colour operators do to the state
- `interpreter`: runs a page's content streams into its marks
- `catalog`: the PDF version, outline, output intents and XMP metadata
- `expectations`: the profile, trim and bleed a file is checked against
- `rules`: one module per kind of rule (see its docstring)
- `findings`: the report, with a problem on many pages collapsed into one finding
"""
