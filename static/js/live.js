// The dispatcher's live map: a snapshot over REST, then every position, stop event and
// ETA over the websocket. Messages older than what a driver's marker already shows (by
// sequence number) are ignored, so a reconnect or a late message never moves it back.
(function () {
  "use strict";
  var config = document.getElementById("live-config");
  var statusEl = document.getElementById("live-status");
  var rows = document.getElementById("live-drivers");
  var drivers = {};  // id → {marker, seq, name, t, speed, heading_to, eta_text}
  var map = null;
  var pending = [];
  var retry = 1000;
  var fitted = false;
  // times of day in the business's own zone and locale, whatever the browser's
  var clock = new Intl.DateTimeFormat(config.dataset.locale || undefined, {
    timeZone: config.dataset.timeZone || undefined, hour: "2-digit", minute: "2-digit", second: "2-digit"
  });

  function label(driver) { return driver.name || ("Driver " + driver.id); }

  function render() {
    var ids = Object.keys(drivers);
    if (!ids.length) { return; }
    rows.textContent = "";
    ids.sort(function (a, b) { return label(drivers[a]).localeCompare(label(drivers[b])); });
    ids.forEach(function (id) {
      var d = drivers[id];
      var tr = document.createElement("tr");
      tr.id = "live-driver-" + id;
      [label(d), clock.format(new Date(d.t)), d.speed != null ? (d.speed * 3.6).toFixed(0) + " km/h" : "—",
       d.heading_to ? "#" + d.heading_to + (d.eta_text ? " at " + d.eta_text : "") : "—"
      ].forEach(function (text) { var td = document.createElement("td"); td.textContent = text; tr.appendChild(td); });
      rows.appendChild(tr);
    });
  }

  function place(p) {
    var d = drivers[p.driver];
    if (d && d.seq >= p.seq) { return false; }  // older than what is shown
    if (!d) {
      d = drivers[p.driver] = {id: p.driver, name: p.name};
      var html = document.createElement("span");
      html.textContent = label(d);
      d.marker = L.marker([p.lat, p.lng], {
        icon: L.divIcon({className: "driver-marker", html: html.outerHTML, iconSize: null}),
        title: label(d), alt: label(d)
      }).addTo(map);
      d.marker.getElement().dataset.driver = p.driver;
    }
    d.seq = p.seq; d.t = p.t; d.speed = p.speed_mps;
    d.marker.setLatLng([p.lat, p.lng]);
    var el = d.marker.getElement();
    el.dataset.lat = p.lat; el.dataset.lng = p.lng; el.dataset.seq = p.seq;
    return true;
  }

  function snapshot() {
    return fetch(config.dataset.snapshotUrl, {credentials: "same-origin"})
      .then(function (r) { return r.json(); })
      .then(function (data) {
        data.positions.forEach(place);
        var points = data.positions.map(function (p) { return [p.lat, p.lng]; });
        if (points.length && !fitted) { map.fitBounds(points, {maxZoom: 14, padding: [30, 30]}); fitted = true; }
        render();
      });
  }

  function connect() {
    var scheme = location.protocol === "https:" ? "wss://" : "ws://";
    var socket = new WebSocket(scheme + location.host + "/ws/dispatch/");
    socket.onopen = function () {
      retry = 1000;
      statusEl.textContent = "Live";
      statusEl.className = "status status-delivered";
      snapshot();  // anything missed while disconnected; newer socket messages win by seq
    };
    socket.onmessage = function (event) {
      var m = JSON.parse(event.data);
      if (m.type === "positions") {
        m.positions.forEach(place);
        if (!fitted && m.positions.length) { map.setView([m.positions[0].lat, m.positions[0].lng], 13); fitted = true; }
        render();
      } else if (m.type === "eta" && drivers[m.driver]) {
        drivers[m.driver].heading_to = m.order; drivers[m.driver].eta_text = m.eta_text; render();
      } else if (m.type === "stop") {
        statusEl.textContent = "Live · order #" + m.order + " " + m.status.replace("_", " ");
      }
    };
    socket.onclose = function () {
      statusEl.textContent = "Reconnecting…";
      statusEl.className = "status status-failed";
      setTimeout(connect, retry);
      retry = Math.min(retry * 2, 30000);
    };
  }

  window.startLiveMap = function (leafletMap) {
    map = leafletMap;
    map.setView([51.5, -0.12], 11);
    connect();
  };
}());
