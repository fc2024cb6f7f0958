// make-book preview: reload when a build succeeds; show a failed build's errors over
// the last good preview. Added by `make-book serve` to the pages it sends, never to files.
(() => {
  "use strict";
  const script = document.currentScript;
  const shown = Number(script.dataset.build);
  const path = location.pathname;
  const essay = path.startsWith("/html/") ? path.slice(6).replace(/\.html$/, "") : null;
  const printView = path.startsWith("/__make-book/print/");
  let bar = null;
  let overlay = null;

  function element(tag, text, style) {
    const made = document.createElement(tag);
    if (text) made.textContent = text; // never HTML: errors quote what the user wrote
    if (style) made.style.cssText = style;
    return made;
  }

  function link(text, href) {
    const made = element("a", text, "color: #fff; margin-left: 10px;");
    made.href = href;
    return made;
  }

  function showBar(state) {
    if (!bar) {
      bar = element("div", "", "position: fixed; right: 12px; bottom: 12px; z-index: 2147483646;" +
        " padding: 6px 12px; border-radius: 6px; background: rgba(30, 30, 30, .85); color: #fff;" +
        " font: 13px/1.4 system-ui, sans-serif;");
      bar.id = "make-book-bar";
      document.body.append(bar);
    }
    bar.replaceChildren();
    let said = `build ${state.build} (${state.seconds} s)`;
    if (state.building) said = "building…";
    else if (!state.ok) said = `build ${state.build} failed`;
    bar.append(element("span", `preview · ${said}`));
    if (state.warnings && state.warnings.length) {
      const count = state.warnings.length;
      const warned = element("span", ` · ${count} warning${count > 1 ? "s" : ""}`);
      warned.title = state.warnings.join("\n");
      bar.append(warned);
    }
    const folios = essay && state.pages ? state.pages[essay] : null;
    if (folios && folios.length) {
      const span = folios.length > 1 ? `pp. ${folios[0]}–${folios[folios.length - 1]}` : `p. ${folios[0]}`;
      bar.append(link(`print pages (${span})`, `/__make-book/print/${essay}`));
    } else if (printView) {
      const slug = path.slice("/__make-book/print/".length).replace(/\/$/, "");
      bar.append(link("web page", slug ? `/html/${slug}.html` : "/html/index.html"));
    }
  }

  function showErrors(state) {
    if (!overlay) {
      overlay = element("div", "", "position: fixed; left: 0; right: 0; top: 0; z-index: 2147483647;" +
        " max-height: 60vh; overflow: auto; padding: 16px 20px; background: rgba(120, 10, 10, .94);" +
        " color: #fff; font: 14px/1.45 system-ui, sans-serif; box-shadow: 0 2px 8px rgba(0, 0, 0, .4);");
      overlay.id = "make-book-errors";
      overlay.setAttribute("role", "alert");
      document.body.append(overlay);
    }
    overlay.replaceChildren(
      element("strong", "The book did not build"),
      element("pre", state.errors.join("\n"), "white-space: pre-wrap; font: 13px/1.45 ui-monospace, monospace; margin: 8px 0;"),
      element("div", state.shown ? `Below: the last good preview (build ${state.shown}). Fix the file and save; this goes away.` : "Fix the file and save; this goes away."),
    );
  }

  function clearErrors() {
    if (overlay) overlay.remove();
    overlay = null;
  }

  const events = new EventSource("/__make-book/events");
  events.onmessage = (message) => {
    const state = JSON.parse(message.data);
    if (!state.building && state.ok && state.shown > shown) {
      // The page shown before the first good build leads to the book once there is one.
      if (path === "/__make-book/waiting.html") location.assign("/");
      else location.reload();
      return;
    }
    if (!state.building) {
      if (state.ok) clearErrors(); else showErrors(state);
    }
    showBar(state);
  };
})();
