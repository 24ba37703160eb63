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
})();
