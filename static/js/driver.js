// The driver app: shares the phone's position while on duty and reports stops.
// Every fix waits in localStorage until the server acknowledges it has been stored, so a
// dropped connection, a closed tab or a restarted server loses nothing: what is waiting is
// sent again on the next connection (over HTTP when a lot piled up while offline).
(function () {
  "use strict";
  var app = document.getElementById("driver-app");
  if (!app) { return; }
  var token = app.dataset.token;
  var KEY = "dispatch-driver-outbox";
  var BATCH_OVER_HTTP = 300;
  var statusEl = document.getElementById("connection");
  var outboxEl = document.getElementById("outbox");
  var socket = null;
  var retry = 1000;
  var stopped = false;
  var lastFixAt = 0;

  function load() {
    try { return JSON.parse(localStorage.getItem(KEY) || "[]"); } catch (e) { return []; }
  }
  function save(items) { localStorage.setItem(KEY, JSON.stringify(items)); showOutbox(items); }
  function showOutbox(items) {
    outboxEl.textContent = items.length ? items.length + " position" + (items.length > 1 ? "s" : "") + " waiting to be sent" : "";
  }
  function setStatus(online, text) {
    statusEl.textContent = text;
    statusEl.className = "conn " + (online ? "online" : "offline");
  }
  function csrf() {
    var headers = JSON.parse(document.body.getAttribute("hx-headers") || "{}");
    return headers["X-CSRFToken"] || "";
  }
  function forget(ids) {
    var gone = {};
    ids.forEach(function (id) { gone[id] = true; });
    save(load().filter(function (fix) { return !gone[fix.id]; }));
  }

  function flush() {
    var items = load();
    if (!items.length || !socket || socket.readyState !== WebSocket.OPEN) { return; }
    if (items.length > BATCH_OVER_HTTP) {
      // a long time offline: one HTTP request instead of a flood on the socket
      fetch(app.dataset.pingsUrl, {
        method: "POST",
        headers: {"Content-Type": "application/json", "Authorization": "Driver " + token},
        body: JSON.stringify({fixes: items})
      }).then(function (response) {
        if (response.ok) { forget(items.map(function (fix) { return fix.id; })); }
      });
      return;
    }
    socket.send(JSON.stringify({type: "fixes", fixes: items}));
  }

  function connect() {
    var scheme = location.protocol === "https:" ? "wss://" : "ws://";
    socket = new WebSocket(scheme + location.host + "/ws/driver/?token=" + encodeURIComponent(token));
    socket.onopen = function () { retry = 1000; setStatus(true, "Online"); flush(); };
    socket.onmessage = function (event) {
      var message = JSON.parse(event.data);
      if (message.type === "ack") { forget(message.ids); }
      else if (message.type === "rejected") { forget(message.fixes.map(function (f) { return f.id; })); }
      else if (message.type === "stop_ok") { location.reload(); }
      else if (message.type === "error" && message.errors) { alert(JSON.stringify(message.errors)); }
      else if (message.type === "error") { setStatus(false, "Refused: " + message.code.replace(/_/g, " ")); }
    };
    socket.onclose = function (event) {
      socket = null;
      if (event.code === 4401 || event.code === 4403) {
        stopped = true;  // off duty, or the token expired: the page gets a new one
        setStatus(false, "Disconnected: reload the page");
        return;
      }
      setStatus(false, navigator.onLine ? "Offline: reconnecting…" : "Offline: no network");
      if (!stopped) { setTimeout(connect, retry); retry = Math.min(retry * 2, 30000); }
    };
  }

  function onPosition(position) {
    if (position.timestamp - lastFixAt < 1000) { return; }  // one fix a second is plenty
    lastFixAt = position.timestamp;
    var c = position.coords;
    var fix = {id: position.timestamp + "-" + Math.random().toString(36).slice(2, 8),
               t: position.timestamp, lat: c.latitude, lng: c.longitude,
               accuracy_m: c.accuracy, speed_mps: c.speed, heading_deg: c.heading};
    document.dispatchEvent(new CustomEvent("driver-fix", {detail: fix}));  // the compact map
    var items = load();
    items.push(fix);
    save(items.slice(-20000));
    if (socket && socket.readyState === WebSocket.OPEN && items.length <= BATCH_OVER_HTTP) {
      socket.send(JSON.stringify({type: "fixes", fixes: [fix]}));
    } else { flush(); }
  }

  document.querySelectorAll("[data-event]").forEach(function (button) {
    button.addEventListener("click", function () {
      // delivered and failed go through the proof form; these are en route and arrived
      var reason = "";
      var message = {type: "stop", order: Number(button.dataset.order), event: button.dataset.event, reason: reason};
      button.disabled = true;
      if (socket && socket.readyState === WebSocket.OPEN) { socket.send(JSON.stringify(message)); return; }
      var body = new URLSearchParams({order: message.order, event: message.event, reason: reason});
      fetch(app.dataset.stopUrl, {method: "POST", body: body, headers: {"X-CSRFToken": csrf(), "Accept": "application/json"}})
        .then(function () { location.reload(); });
    });
  });

  window.addEventListener("online", function () { if (!socket && !stopped) { connect(); } });
  window.addEventListener("offline", function () { setStatus(false, "Offline: no network"); });
  showOutbox(load());
  connect();
  if ("geolocation" in navigator) {
    navigator.geolocation.watchPosition(onPosition, function (error) {
      outboxEl.textContent = "Location unavailable: " + error.message;
    }, {enableHighAccuracy: true, maximumAge: 0, timeout: 30000});
  } else {
    outboxEl.textContent = "This phone cannot share its location.";
  }
}());
