// The overview's dispatch alerts, kept live: when a plan changes (an order auto-dispatch
// could not place, a nightly plan that failed, an alert marked seen elsewhere), the page
// is fetched again and its alerts box swapped in. Nothing else on the page changes.
(function () {
  "use strict";
  var box = document.querySelector("[data-live-alerts]");
  if (!box || !window.WebSocket) { return; }
  var pending = null, retry = 1000;

  function reload() {
    pending = null;
    fetch(location.href, {credentials: "same-origin", headers: {"Accept": "text/html"}})
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) {
        if (!html) { return; }
        var fresh = new DOMParser().parseFromString(html, "text/html").getElementById(box.id);
        if (fresh) { box.innerHTML = fresh.innerHTML; }
      })
      .catch(function () {});
  }

  function soon() { if (!pending) { pending = setTimeout(reload, 300); } }

  function connect() {
    var scheme = location.protocol === "https:" ? "wss://" : "ws://";
    var socket = new WebSocket(scheme + location.host + "/ws/dispatch/");
    var opened = false;
    socket.onopen = function () {
      if (opened) { soon(); }
      opened = true; retry = 1000;
      box.setAttribute("data-live", "1");  // listening (tests wait for it)
    };
    socket.onmessage = function (event) {
      var m = JSON.parse(event.data);
      if (m.type === "plan") { soon(); }
    };
    socket.onclose = function () {
      box.removeAttribute("data-live");
      setTimeout(connect, retry);
      retry = Math.min(retry * 2, 30000);
      soon();  // anything missed while away
    };
  }
  connect();
}());
