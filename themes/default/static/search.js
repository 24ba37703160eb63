/* imprimatur default theme: client-side search, and the site opened from disk.
 *
 * Search loads only the pieces of the index a query needs (src/publish/search.rs), each a
 * script under <root>search-index/ that sets window.IMPRIMATUR_SEARCH_PARTS[name]: scripts load
 * both over HTTP and from disk (file://, where browsers refuse fetch()). For every query word
 * it loads the piece of the word's first three characters (t-<key>.js) and matches the words
 * the query word begins (a word shorter than three characters matches only itself); a page
 * must hold every query word. Pages are known there by their slot (where the hash of their
 * URL put them). Pages whose title matches come first, then by score, then by slot; of the
 * first 20, what the results show comes from the page pieces (p-<n>.js) of their slots. The
 * search forms are `hidden` in the HTML, so without JavaScript they never show. All index
 * text is inserted with textContent: nothing from the index is parsed as HTML. A page opened
 * with `?q=words` searches for them at once.
 *
 * Opened from disk, browsers show a folder listing for links to folders: there every link of
 * the site that ends in "/" gets "index.html" appended. Over HTTP links stay pretty.
 */
(function () {
  "use strict";

  var MAX_RESULTS = 20;
  var MAX_TERMS = 8;
  var SNIPPET_BEFORE = 50;
  var SNIPPET_LENGTH = 170;

  var root = document.body.getAttribute("data-root") || "";
  var fromDisk = window.location.protocol === "file:";
  var SLOTS_PER_PART = 8;
  var KEY_CHARS = 3;
  var TITLE_SCORE = 20;
  var parts = window.IMPRIMATUR_SEARCH_PARTS = window.IMPRIMATUR_SEARCH_PARTS || {};
  var loading = {};

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

  /* One piece of the index, by name; null when the site has none of that name (no word of
   * the site starts that way). Rejects when the piece could not be loaded at all. */
  function loadPart(name) {
    if (Object.prototype.hasOwnProperty.call(parts, name)) { return Promise.resolve(parts[name]); }
    if (!loading[name]) {
      loading[name] = new Promise(function (resolve) {
        var script = document.createElement("script");
        script.src = root + "search-index/" + name + ".js";
        script.async = true;
        script.onload = function () {
          resolve(Object.prototype.hasOwnProperty.call(parts, name) ? parts[name] : null);
        };
        script.onerror = function () {
          script.parentNode.removeChild(script);
          delete loading[name];
          resolve(null);
        };
        document.head.appendChild(script);
      });
    }
    return loading[name];
  }

  /* The piece a word is in: its first three characters, as src/publish/search.rs spells them. */
  function keyOf(word) {
    var key = "";
    var chars = Array.from(word).slice(0, KEY_CHARS);
    for (var i = 0; i < chars.length; i++) {
      var c = chars[i];
      key += /^[a-z0-9]$/.test(c) ? c : "_" + c.codePointAt(0).toString(16);
    }
    return key;
  }

  /* The last digit of a distance between slots (base 32), and the digits before it. */
  var LAST_DIGITS = "0123456789abcdefghijklmnopqrstuv";
  var MORE_DIGITS = "ABCDEFGHIJKLMNOPQRSTUVWXYZwxyz-_";

  /* A word's pages with their scores: slot → score. "D": one base-36 score per slot ("0":
   * not there). "S": per page, its score digit, then how many slots lie between it and the
   * previous page (or the start) in base 32, the last digit from LAST_DIGITS. */
  function decode(spelled, into) {
    var kind = spelled.charAt(0);
    var i;
    if (kind === "D") {
      for (i = 1; i < spelled.length; i++) {
        var c = spelled.charAt(i);
        if (c !== "0") { into[i - 1] = Math.max(into[i - 1] || 0, parseInt(c, 36)); }
      }
      return;
    }
    var next = 0;
    i = 1;
    while (i < spelled.length) {
      var score = parseInt(spelled.charAt(i), 36);
      var distance = 0;
      for (i += 1; ; i++) {
        if (i >= spelled.length) { return; }
        var last = LAST_DIGITS.indexOf(spelled.charAt(i));
        var more = last === -1 ? MORE_DIGITS.indexOf(spelled.charAt(i)) : -1;
        if (last === -1 && more === -1) { return; }
        distance = distance * 32 + (last === -1 ? more : last);
        if (last !== -1) { i += 1; break; }
      }
      var slot = next + distance;
      into[slot] = Math.max(into[slot] || 0, score);
      next = slot + 1;
    }
  }

  /* The pages holding a query word (every word it begins, or itself when shorter than three
   * characters), with their best score. */
  function pagesOf(term) {
    return loadPart("t-" + keyOf(term)).then(function (words) {
      var found = {};
      if (!words) { return found; }
      var whole = Array.from(term).length < KEY_CHARS;
      Object.keys(words).forEach(function (word) {
        if (whole ? word === term : word.indexOf(term) === 0) { decode(words[word], found); }
      });
      return found;
    });
  }

  /* What results show of the page in slot `n`, from its page piece. */
  function entryOf(n) {
    return loadPart("p-" + Math.floor(n / SLOTS_PER_PART)).then(function (pages) {
      var page = pages && pages[n % SLOTS_PER_PART];
      if (!Array.isArray(page)) { throw new Error("search page " + n + " is missing"); }
      var entry = {
        title: str(page[0]),
        url: str(page[1]),
        space: str(page[2]),
        description: str(page[3]),
        tags: Array.isArray(page[4]) ? page[4].map(str) : [],
        text: str(page[5])
      };
      entry.descriptionLc = entry.description.toLowerCase();
      entry.textLc = entry.text.toLowerCase();
      return entry;
    });
  }

  function termsOf(query) {
    var seen = {};
    return query.toLowerCase().split(/\s+/).filter(function (term) {
      if (!term || seen[term]) { return false; }
      seen[term] = true;
      return true;
    }).slice(0, MAX_TERMS);
  }

  /* Pages holding every query word, titles matching first, then by score, then by slot;
   * the first MAX_RESULTS with what results show of them. */
  function search(query) {
    var terms = termsOf(query);
    if (!terms.length) { return Promise.resolve({ results: [], total: 0, terms: terms }); }
    return Promise.all(terms.map(pagesOf)).then(function (perTerm) {
      var hits = [];
      Object.keys(perTerm[0]).forEach(function (key) {
        var page = Number(key);
        var score = 0;
        var titleHits = 0;
        for (var t = 0; t < perTerm.length; t++) {
          var s = perTerm[t][page];
          if (!s) { return; }
          score += s;
          if (s >= TITLE_SCORE) { titleHits += 1; }
        }
        hits.push({ page: page, score: score, titleHits: titleHits });
      });
      hits.sort(function (a, b) {
        return (b.titleHits - a.titleHits) || (b.score - a.score) || (a.page - b.page);
      });
      var top = hits.slice(0, MAX_RESULTS);
      return Promise.all(top.map(function (hit) { return entryOf(hit.page); })).then(function (entries) {
        return { results: entries, total: hits.length, terms: terms };
      });
    });
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
      search(query).then(function (found) {
        if (input.value.trim() !== query) { return; } // a newer query is on its way
        show(query, found);
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
