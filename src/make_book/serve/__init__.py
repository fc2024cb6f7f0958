"""The editor's loop: rebuild the book on every save (`build --watch`), and serve a
preview that reloads itself, showing each essay's web page and its print pages
(`make-book serve`).

    watch.py        which saves rebuild the book (watchfiles)
    preview.py      one build of the preview, and its outcome for the browser
    pages.py        an essay's print pages: their folios, and each page as an image
    server.py       the HTTP server: the preview folder, the live script, the page images
    live.js         the script added to the pages the server sends (never to the files)
"""
