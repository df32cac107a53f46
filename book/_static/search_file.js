// Search snippets when the book is opened from disk (file://).
// Sphinx's searchtools.js fetches every result page to cut a snippet from it, and browsers
// refuse fetch() on file:// URLs. Loaded on search.html only, after search_snippets.js
// (window.BOOK_PAGE_TEXTS: page path -> reduced [role=main] HTML, written at build time by
// book/_ext/book_site.py). Those fetches are answered from that table instead. Over http(s)
// this file does nothing.
(() => {
  if (window.location.protocol !== "file:" || typeof window.fetch !== "function") return;
  const nativeFetch = window.fetch.bind(window);
  window.fetch = (resource, options) => {
    const texts = window.BOOK_PAGE_TEXTS || {};
    const root = new URL(document.documentElement.dataset.content_root || "./", document.baseURI);
    const url = new URL(typeof resource === "string" ? resource : resource.url, document.baseURI);
    if (url.protocol === "file:" && url.href.startsWith(root.href)) {
      const page = decodeURIComponent(url.pathname.slice(root.pathname.length));
      if (Object.prototype.hasOwnProperty.call(texts, page)) {
        return Promise.resolve(new Response(texts[page],
          {status: 200, headers: {"Content-Type": "text/html; charset=utf-8"}}));
      }
    }
    return nativeFetch(resource, options);
  };
})();
