// Reloads the page after `imprimatur serve` rebuilt the site. Does nothing anywhere else: it
// only listens over http on a loopback host, and stops if nothing answers there.
(function () {
  "use strict";
  var host = location.hostname;
  var loopback = host === "127.0.0.1" || host === "localhost" || host === "[::1]" || host === "::1";
  if (location.protocol !== "http:" || !loopback || !window.EventSource) return;
  var opened = false;
  var events = new EventSource("/_imprimatur/events");
  events.onopen = function () { opened = true; };
  events.addEventListener("reload", function () { location.reload(); });
  events.onerror = function () { if (!opened) events.close(); };
  // A page kept in the back/forward cache would hold its stream open, and a browser opens
  // six connections to one host: six review pages later, nothing loads. Close it on leaving;
  // a page shown again from that cache reloads, as it may be stale.
  window.addEventListener("pagehide", function () { events.close(); });
  window.addEventListener("pageshow", function (e) { if (e.persisted) location.reload(); });
})();
