/* imprimatur default theme: client-side search, and the site opened from disk.
 *
 * Search loads <root>search-index.json on first use ({"pages": [{title, url, space,
 * description, tags, text}]}), matches every query word case-insensitively against title, tags,
 * description and text, ranks pages whose title matches first, and lists up to 20 results
 * under the box. The search forms are `hidden` in the HTML, so without JavaScript they never
 * show. All index text is inserted with textContent: nothing from the index is parsed as HTML.
 * A page opened with `?q=words` searches for them at once.
 *
 * Opened from disk (file://), browsers refuse to fetch() the index and show a folder listing
 * for links to folders. There the index comes from <root>search-index.js (the same JSON, set
 * as window.IMPRIMATUR_SEARCH by a <script>), and every link of the site that ends in "/"
 * gets "index.html" appended. Over HTTP nothing changes: links stay pretty.
 */
(function () {
  "use strict";

  var MAX_RESULTS = 20;
  var MAX_TERMS = 8;
  var SNIPPET_BEFORE = 50;
  var SNIPPET_LENGTH = 170;

  var root = document.body.getAttribute("data-root") || "";
  var fromDisk = window.location.protocol === "file:";
  var indexPromise = null;

  /* A relative link to a folder ("../kb/", "./", "..", "kb/#part"), with "index.html"
   * appended; other links as they are. */
  function withIndexFile(href) {
    if (!href || /^[a-z][a-z0-9+.\-]*:/i.test(href) || href.charAt(0) === "/" || href.charAt(0) === "#" ||
        href.charAt(0) === "?") {
      return href;
    }
    var cut = href.search(/[?#]/);
    var path = cut === -1 ? href : href.slice(0, cut);
    var rest = cut === -1 ? "" : href.slice(cut);
    if (path === "." || path === ".." || /\/\.\.?$/.test(path)) { path += "/"; }
    if (path.charAt(path.length - 1) !== "/") { return href; }
    return path + "index.html" + rest;
  }

  /* Opened from disk: point every link to a folder at its index.html. */
  function fixLinksForDisk() {
    var links = document.querySelectorAll("a[href]");
    for (var i = 0; i < links.length; i++) {
      var href = links[i].getAttribute("href");
      var fixed = withIndexFile(href);
      if (fixed !== href) { links[i].setAttribute("href", fixed); }
    }
  }

  /* The URL of a page of the site, from this page. */
  function pageHref(url) {
    var href = root + url;
    return fromDisk ? withIndexFile(href || "./") : href;
  }

  function str(value) {
    return typeof value === "string" ? value : "";
  }

  function prepare(data) {
    var pages = data && Array.isArray(data.pages) ? data.pages : [];
    return pages.map(function (page) {
      var tags = Array.isArray(page.tags) ? page.tags.map(str) : [];
      var entry = {
        title: str(page.title),
        url: str(page.url),
        space: str(page.space),
        description: str(page.description),
        text: str(page.text),
        tags: tags
      };
      entry.titleLc = entry.title.toLowerCase();
      entry.descriptionLc = entry.description.toLowerCase();
      entry.textLc = entry.text.toLowerCase();
      entry.tagsLc = tags.map(function (tag) { return tag.toLowerCase(); });
      return entry;
    });
  }

  /* From disk, the index is a script: search-index.js sets window.IMPRIMATUR_SEARCH. */
  function loadIndexScript() {
    return new Promise(function (resolve, reject) {
      if (window.IMPRIMATUR_SEARCH) { resolve(window.IMPRIMATUR_SEARCH); return; }
      var script = document.createElement("script");
      script.src = root + "search-index.js";
      script.async = true;
      script.onload = function () {
        if (window.IMPRIMATUR_SEARCH) { resolve(window.IMPRIMATUR_SEARCH); }
        else { reject(new Error("search-index.js set no index")); }
      };
      script.onerror = function () {
        script.parentNode.removeChild(script);
        reject(new Error("search-index.js did not load"));
      };
      document.head.appendChild(script);
    });
  }

  function loadIndex() {
    if (!indexPromise) {
      var loaded = fromDisk
        ? loadIndexScript()
        : fetch(root + "search-index.json", { credentials: "same-origin" })
          .then(function (response) {
            if (!response.ok) { throw new Error("HTTP " + response.status); }
            return response.json();
          });
      indexPromise = loaded
        .then(prepare)
        .catch(function (error) {
          indexPromise = null; // try again next time
          throw error;
        });
    }
    return indexPromise;
  }

  function termsOf(query) {
    var seen = {};
    return query.toLowerCase().split(/\s+/).filter(function (term) {
      if (!term || seen[term]) { return false; }
      seen[term] = true;
      return true;
    }).slice(0, MAX_TERMS);
  }

  function countOf(haystack, needle, limit) {
    var count = 0;
    var at = haystack.indexOf(needle);
    while (at !== -1 && count < limit) {
      count += 1;
      at = haystack.indexOf(needle, at + needle.length);
    }
    return count;
  }

  function isWordStart(haystack, at) {
    return at === 0 || /[\s\-_/.,:;(]/.test(haystack.charAt(at - 1));
  }

  /* Ranks one page, or returns null when some word is found nowhere in it. */
  function rank(entry, terms, phrase) {
    var titleHits = 0;
    var score = 0;
    for (var i = 0; i < terms.length; i++) {
      var term = terms[i];
      var found = false;
      var at = entry.titleLc.indexOf(term);
      if (at !== -1) {
        found = true;
        titleHits += 1;
        score += isWordStart(entry.titleLc, at) ? 12 : 8;
      }
      for (var t = 0; t < entry.tagsLc.length; t++) {
        if (entry.tagsLc[t] === term) { found = true; score += 6; break; }
        if (entry.tagsLc[t].indexOf(term) !== -1) { found = true; score += 3; break; }
      }
      if (entry.descriptionLc.indexOf(term) !== -1) { found = true; score += 3; }
      var inText = countOf(entry.textLc, term, 10);
      if (inText) { found = true; score += 1 + inText * 0.2; }
      if (!found) { return null; }
    }
    if (terms.length > 1 && entry.titleLc.indexOf(phrase) !== -1) { score += 10; }
    if (entry.titleLc === phrase) { score += 20; }
    else if (entry.titleLc.indexOf(phrase) === 0) { score += 8; }
    return { entry: entry, titleHits: titleHits, score: score };
  }

  function search(index, query) {
    var terms = termsOf(query);
    if (!terms.length) { return { results: [], total: 0, terms: terms }; }
    var phrase = terms.join(" ");
    var hits = [];
    for (var i = 0; i < index.length; i++) {
      var hit = rank(index[i], terms, phrase);
      if (hit) { hits.push(hit); }
    }
    hits.sort(function (a, b) {
      return (b.titleHits - a.titleHits) ||
        (b.score - a.score) ||
        (a.entry.title < b.entry.title ? -1 : a.entry.title > b.entry.title ? 1 : 0);
    });
    return {
      results: hits.slice(0, MAX_RESULTS).map(function (hit) { return hit.entry; }),
      total: hits.length,
      terms: terms
    };
  }

  /* A short piece of text around the first match, cut at word boundaries. */
  function snippetOf(entry, terms) {
    var sources = [[entry.text, entry.textLc], [entry.description, entry.descriptionLc]];
    for (var s = 0; s < sources.length; s++) {
      var text = sources[s][0];
      var lower = sources[s][1];
      // Lowercasing can change the length of a few characters; then show the lowercase text.
      if (lower.length !== text.length) { text = lower; }
      var first = -1;
      for (var i = 0; i < terms.length; i++) {
        var at = lower.indexOf(terms[i]);
        if (at !== -1 && (first === -1 || at < first)) { first = at; }
      }
      if (first === -1) { continue; }
      var start = Math.max(0, first - SNIPPET_BEFORE);
      if (start > 0) {
        var space = text.indexOf(" ", start);
        if (space !== -1 && space < first) { start = space + 1; }
      }
      var end = Math.min(text.length, start + SNIPPET_LENGTH);
      if (end < text.length) {
        var lastSpace = text.lastIndexOf(" ", end);
        if (lastSpace > first) { end = lastSpace; }
      }
      return (start > 0 ? "… " : "") + text.slice(start, end).trim() + (end < text.length ? " …" : "");
    }
    var fallback = entry.description || entry.text;
    return fallback.length > SNIPPET_LENGTH
      ? fallback.slice(0, SNIPPET_LENGTH).replace(/\s+\S*$/, "") + " …"
      : fallback;
  }

  /* Appends `text` to `parent`, wrapping each match of a term in <mark>. */
  function appendHighlighted(parent, text, terms) {
    var lower = text.toLowerCase();
    if (lower.length !== text.length) {
      parent.appendChild(document.createTextNode(text));
      return;
    }
    var ranges = [];
    terms.forEach(function (term) {
      var at = lower.indexOf(term);
      while (at !== -1) {
        ranges.push([at, at + term.length]);
        at = lower.indexOf(term, at + term.length);
      }
    });
    ranges.sort(function (a, b) { return a[0] - b[0] || b[1] - a[1]; });
    var pos = 0;
    ranges.forEach(function (range) {
      if (range[1] <= pos) { return; }
      var from = Math.max(range[0], pos);
      if (from > pos) { parent.appendChild(document.createTextNode(text.slice(pos, from))); }
      var mark = document.createElement("mark");
      mark.textContent = text.slice(from, range[1]);
      parent.appendChild(mark);
      pos = range[1];
    });
    if (pos < text.length) { parent.appendChild(document.createTextNode(text.slice(pos))); }
  }

  function span(className) {
    var element = document.createElement("span");
    element.className = className;
    return element;
  }

  function setup(form, formIndex) {
    var input = form.querySelector(".search__input");
    var panel = form.querySelector(".search__panel");
    var message = form.querySelector(".search__message");
    var list = form.querySelector(".search__results");
    var live = form.querySelector(".search__live");
    if (!input || !panel || !list) { return null; }

    var active = -1;
    var timer = null;
    var lastQuery = null;
    var idPrefix = (panel.id || "search-" + formIndex) + "-item-";

    form.hidden = false;

    function options() {
      return list.querySelectorAll(".search__result");
    }

    function open() {
      panel.hidden = false;
      input.setAttribute("aria-expanded", "true");
    }

    function close() {
      panel.hidden = true;
      input.setAttribute("aria-expanded", "false");
      setActive(-1);
    }

    function setActive(next) {
      var items = options();
      if (active >= 0 && items[active]) { items[active].setAttribute("aria-selected", "false"); }
      active = next;
      if (active >= 0 && items[active]) {
        items[active].setAttribute("aria-selected", "true");
        input.setAttribute("aria-activedescendant", items[active].id);
        items[active].scrollIntoView({ block: "nearest" });
      } else {
        input.removeAttribute("aria-activedescendant");
      }
    }

    function say(visible, spoken) {
      if (message) { message.textContent = visible; }
      if (live) { live.textContent = spoken === undefined ? visible : spoken; }
    }

    function show(query, found) {
      list.textContent = "";
      active = -1;
      input.removeAttribute("aria-activedescendant");
      found.results.forEach(function (entry, i) {
        var item = document.createElement("li");
        item.className = "search__result";
        item.id = idPrefix + i;
        item.setAttribute("role", "option");
        item.setAttribute("aria-selected", "false");
        var link = document.createElement("a");
        link.href = pageHref(entry.url);
        link.tabIndex = -1;
        if (entry.space) {
          var where = span("search__space");
          where.textContent = entry.space;
          link.appendChild(where);
        }
        var title = span("search__title");
        appendHighlighted(title, entry.title || entry.url, found.terms);
        link.appendChild(title);
        var snippet = snippetOf(entry, found.terms);
        if (snippet) {
          var excerpt = span("search__snippet");
          appendHighlighted(excerpt, snippet, found.terms);
          link.appendChild(excerpt);
        }
        item.appendChild(link);
        list.appendChild(item);
      });
      if (!found.total) {
        say("No pages match “" + query + "”.");
      } else if (found.total > found.results.length) {
        say("Top " + found.results.length + " of " + found.total + " results",
          found.total + " results, showing the top " + found.results.length + ". Use the arrow keys to choose one.");
      } else {
        say("", found.total + (found.total === 1 ? " result" : " results") + ". Use the arrow keys to choose one.");
      }
      open();
    }

    function run() {
      var query = input.value.trim();
      if (query === lastQuery && !panel.hidden) { return; }
      lastQuery = query;
      if (!query) {
        list.textContent = "";
        say("", "");
        close();
        return;
      }
      if (message) { message.textContent = "Searching…"; }
      loadIndex().then(function (index) {
        if (input.value.trim() !== query) { return; } // a newer query is on its way
        show(query, search(index, query));
      }, function () {
        list.textContent = "";
        say("Search is unavailable right now.");
        open();
      });
    }

    function follow(index) {
      var items = options();
      var item = items[index >= 0 ? index : 0];
      var link = item && item.querySelector("a");
      if (link) { window.location.href = link.href; }
    }

    input.addEventListener("focus", function () {
      loadIndex().catch(function () { /* reported when searching */ });
      if (input.value.trim() && list.children.length) { open(); }
    });

    input.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(run, 80);
    });

    input.addEventListener("keydown", function (event) {
      var count = options().length;
      switch (event.key) {
        case "ArrowDown":
          if (panel.hidden) { run(); event.preventDefault(); return; }
          if (count) { setActive(active + 1 >= count ? 0 : active + 1); }
          event.preventDefault();
          break;
        case "ArrowUp":
          if (count && !panel.hidden) { setActive(active <= 0 ? count - 1 : active - 1); }
          event.preventDefault();
          break;
        case "Home":
        case "End":
          if (count && !panel.hidden && active !== -1) {
            setActive(event.key === "Home" ? 0 : count - 1);
            event.preventDefault();
          }
          break;
        case "Escape":
          if (!panel.hidden) {
            close();
            event.preventDefault();
          } else if (input.value) {
            input.value = "";
            lastQuery = null;
            event.preventDefault();
          }
          break;
        default:
          break;
      }
    });

    form.addEventListener("submit", function (event) {
      event.preventDefault();
      clearTimeout(timer);
      if (!panel.hidden && options().length) {
        follow(active);
      } else {
        lastQuery = null;
        run();
      }
    });

    list.addEventListener("mousemove", function (event) {
      var item = event.target.closest ? event.target.closest(".search__result") : null;
      if (!item) { return; }
      var items = Array.prototype.indexOf.call(options(), item);
      if (items !== active) { setActive(items); }
    });

    form.addEventListener("focusout", function (event) {
      if (!event.relatedTarget || !form.contains(event.relatedTarget)) {
        setTimeout(function () {
          if (!form.contains(document.activeElement)) { close(); }
        }, 0);
      }
    });

    document.addEventListener("mousedown", function (event) {
      if (!form.contains(event.target)) { close(); }
    });

    return function (query) {
      input.value = query;
      lastQuery = null;
      run();
    };
  }

  function visibleInput() {
    var inputs = document.querySelectorAll("form[data-search] .search__input");
    for (var i = 0; i < inputs.length; i++) {
      if (inputs[i].offsetParent !== null) { return inputs[i]; }
    }
    return null;
  }

  /* "/" jumps to the search box, unless the reader is typing somewhere. */
  document.addEventListener("keydown", function (event) {
    if (event.key !== "/" || event.ctrlKey || event.metaKey || event.altKey) { return; }
    var target = event.target;
    var tag = target && target.tagName;
    if (tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || (target && target.isContentEditable)) {
      return;
    }
    var input = visibleInput();
    if (input) {
      event.preventDefault();
      input.focus();
      input.select();
    }
  });

  if (fromDisk) { fixLinksForDisk(); }

  var forms = document.querySelectorAll("form[data-search]");
  var searches = [];
  for (var f = 0; f < forms.length; f++) { searches.push(setup(forms[f], f)); }

  /* ?q=words: search for them in the first visible box. */
  var query = "";
  try { query = new URLSearchParams(window.location.search).get("q") || ""; } catch (e) { query = ""; }
  if (query.trim()) {
    for (var v = 0; v < forms.length; v++) {
      if (searches[v] && forms[v].offsetParent !== null) { searches[v](query); break; }
    }
  }
})();
