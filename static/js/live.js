// The dispatcher's live map: a snapshot over REST, then every position, stop event and
// ETA over the websocket. Messages older than what a driver's marker already shows (by
// sequence number) are ignored, so a reconnect or a late message never moves it back.
(function () {
  "use strict";
  // Django's JavaScript catalog (base.html) gives these; plain English until it is loaded.
  // Looked up at each call, so that a catalog loaded after this script still counts.
  function gettext(s) { return window.gettext ? window.gettext(s) : s; }
  function interpolate(fmt, obj) {
    return fmt.replace(/%\((\w+)\)s/g, function (m, k) { return String(obj[k]); });
  }
  var config = document.getElementById("live-config");
  var statusEl = document.getElementById("live-status");
  var rows = document.getElementById("live-drivers");
  var drivers = {};  // id → {marker, seq, name, t, speed, heading_to, eta_text, path…}
  var map = null;
  var pending = [];
  var retry = 1000;
  var fitted = false;
  // times of day in the business's own zone and locale, whatever the browser's
  var clock = new Intl.DateTimeFormat(config.dataset.locale || undefined, {
    timeZone: config.dataset.timeZone || undefined, hour: "2-digit", minute: "2-digit", second: "2-digit"
  });

  function label(driver) {
    return driver.name || interpolate(gettext("Driver %(id)s"), {id: driver.id}, true);
  }

  function render() {
    var ids = Object.keys(drivers);
    if (!ids.length) { return; }
    rows.textContent = "";
    ids.sort(function (a, b) { return label(drivers[a]).localeCompare(label(drivers[b])); });
    ids.forEach(function (id) {
      var d = drivers[id];
      var tr = document.createElement("tr");
      tr.id = "live-driver-" + id;
      var speed = d.speed != null ? interpolate(gettext("%(speed)s km/h"), {speed: (d.speed * 3.6).toFixed(0)}, true) : "—";
      var heading = "—";
      if (d.heading_to) {
        heading = d.eta_text
          ? interpolate(gettext("#%(order)s at %(eta)s"), {order: d.heading_to, eta: d.eta_text}, true)
          : "#" + d.heading_to;
      }
      [label(d), clock.format(new Date(d.t)), speed, heading].forEach(function (text) { var td = document.createElement("td"); td.textContent = text; tr.appendChild(td); });
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
    d.last = [p.lat, p.lng];
    follow(d, false);
    return true;
  }

  // Each driver's road path still to drive: fetched when the driver appears, then at most
  // every `every_s` as positions arrive (sooner when the van left it, or a stop of it
  // changed); in between, the path is trimmed to the van. Positions stay small messages.
  var OFF_PATH_M = 60, OFF_PATH_EVERY_MS = 5000;

  function fetchPath(d) {
    if (d.fetching || !config.dataset.pathUrl) { return; }
    d.fetching = true;
    d.fetchedAt = Date.now();
    fetch(config.dataset.pathUrl.replace("/0/", "/" + d.id + "/"), {credentials: "same-origin"})
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) { d.fetching = false; if (data) { showPath(d, data); } })
      .catch(function () { d.fetching = false; });
  }

  function showPath(d, data) {
    if (d.layers) { map.removeLayer(d.layers); }
    d.layers = L.layerGroup().addTo(map);
    d.orders = {};
    d.nextLine = null;
    d.everyMs = (data.every_s || 20) * 1000;
    var el = d.marker.getElement();
    if (!data.route) { el.dataset.pathVertices = "0"; return; }
    var colour = data.colour || "#0b63ce";
    RoadMap.draw(data.rest, {color: colour, weight: 3, opacity: 0.45}, "live-path live-rest").addTo(d.layers);
    RoadMap.walks(data.walks, colour).addTo(d.layers);
    var next = RoadMap.draw(data.next, {color: colour, weight: 5, opacity: 0.9}, "live-path live-next").addTo(d.layers);
    d.nextLine = next.getLayers()[0] || null;
    data.stops.forEach(function (stop, k) {
      d.orders[stop.order] = true;
      // as text: Leaflet reads a string tooltip as HTML, and names come from customers
      var text = document.createElement("span");
      var fmt = k === 0 ? gettext("#%(sequence)s %(name)s (next)") : "#%(sequence)s %(name)s";
      text.textContent = interpolate(fmt, {sequence: stop.sequence, name: stop.name}, true);
      L.circleMarker([stop.lat, stop.lng], {radius: k === 0 ? 6 : 4, color: colour, weight: 2, fillColor: "#fff", fillOpacity: 1, className: "live-stop"})
        .bindTooltip(text).addTo(d.layers);
    });
    RoadMap.attribute(map, data.source.attribution);
    el.dataset.pathVertices = String(RoadMap.vertices(data.next) + RoadMap.vertices(data.rest));
    if (d.last) { follow(d, true); }
  }

  function follow(d, justFetched) {
    var now = Date.now();
    if (!justFetched && (!d.fetchedAt || now - d.fetchedAt > (d.everyMs || 20000))) { fetchPath(d); return; }
    if (d.nextLine) {
      var off = RoadMap.trim(d.nextLine, d.last), first = d.nextLine.getLatLngs()[0];
      d.marker.getElement().dataset.pathStart = first.lat + "," + first.lng;
      if (!justFetched && off > OFF_PATH_M && now - d.fetchedAt > OFF_PATH_EVERY_MS) { fetchPath(d); }
    }
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
      statusEl.textContent = gettext("Live");
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
        statusEl.textContent = interpolate(gettext("Live · order #%(order)s %(status)s"),
          {order: m.order, status: m.status.replace("_", " ")}, true);
        Object.keys(drivers).forEach(function (id) {  // a stop of this path changed: ask again
          var d = drivers[id];
          if (d.orders && d.orders[m.order]) { d.fetchedAt = 0; fetchPath(d); }
        });
      }
    };
    socket.onclose = function () {
      statusEl.textContent = gettext("Reconnecting…");
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
