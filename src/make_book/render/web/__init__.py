"""The web edition: a contents page and one page per text, no JavaScript."""
