"""The preflight's rules, one module per kind: each turns what was read from the file
into problems, (rule id, message) pairs, in the order the report lists them.

The whole file: `document` (page count, bleed allowed, bookmarks) and `standards`
(PDF/X, PDF/A, PDF/UA, tagging). Each page: `page_boxes` (trim, bleed, boxes),
`annotations`, and what it draws: `fonts`, `images` (resolution), `colour`,
`transparency`, `margins` (text near the trim).
"""
