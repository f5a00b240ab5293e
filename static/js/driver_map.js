// The driver app's map (its Map tab): the road path to the next stop (bold), the stops
// still to do after it, and where the phone is; a tap on a stop opens its card. On duty, the phone's own fixes move the marker and trim
// the path as they come (driver.js announces them), and the path is asked again at most
// every `every_s`, or sooner when the van has left it.
(function () {
  "use strict";
  // Django's JavaScript catalog (the driver's language), loaded by base.html first
  var gettext = window.gettext || function (s) { return s; };
  var config = document.getElementById("driver-map-config");
  var data = JSON.parse(document.getElementById("driver-path-data").textContent);
  var map = null, layers = null, van = null, nextLine = null;
  var fetchedAt = Date.now(), fetching = false, last = null;
  var OFF_PATH_M = 60, OFF_PATH_EVERY_MS = 5000;

  function show(path) {
    var el = document.getElementById("driver-map");
    if (layers) { map.removeLayer(layers); }
    layers = L.layerGroup().addTo(map);
    var colour = path.colour || "#0b63ce";
    RoadMap.draw(path.rest, {color: colour, weight: 3, opacity: 0.45}, "driver-path driver-rest").addTo(layers);
    RoadMap.walks(path.walks, colour).addTo(layers);
    var next = RoadMap.draw(path.next, {color: "#0b63ce", weight: 6, opacity: 0.9}, "driver-path driver-next").addTo(layers);
    nextLine = next.getLayers()[0] || null;
    var corners = [path.start];
    (path.stops || []).slice().reverse().forEach(function (stop, k, all) {
      var first = k === all.length - 1, at = [stop.lat, stop.lng];
      corners.push(at);
      var title = "#" + stop.sequence + " " + stop.name + (first ? " " + gettext("(next)") : "");
      var marker;
      if (first) {
        var label = document.createElement("span");
        label.textContent = String(stop.sequence);
        marker = L.marker(at, {icon: L.divIcon({className: "next-stop-marker", html: label.outerHTML, iconSize: [24, 24]}), title: title, alt: title, zIndexOffset: 500}).addTo(layers);
      } else {
        var tip = document.createElement("span");  // as text: names come from customers
        tip.textContent = title;
        marker = L.circleMarker(at, {radius: 12, color: colour, weight: 3, fillColor: "#fff", fillOpacity: 1, className: "driver-stop"}).bindTooltip(tip).addTo(layers);
      }
      marker.on("click", function () {
        document.dispatchEvent(new CustomEvent("driver-open-stop", {detail: {order: stop.order}}));
      });
    });
    RoadMap.attribute(map, path.source.attribution);
    if (path.position && path.starts_from === "van") {
      place([path.position.lat, path.position.lng]);
      if (nextLine && !last) { RoadMap.trim(nextLine, [path.position.lat, path.position.lng]); }  // from the van itself
    }
    el.dataset.nextVertices = String(RoadMap.vertices(path.next));
    el.dataset.restVertices = String(RoadMap.vertices(path.rest));
    return corners;
  }

  function place(at) {
    if (!van) {
      van = L.circleMarker(at, {radius: 8, color: "#fff", weight: 3, fillColor: "#0b63ce", fillOpacity: 1, className: "driver-position"}).addTo(map);
    } else {
      van.setLatLng(at);
    }
    van.bringToFront();
  }

  function refetch() {
    if (fetching) { return; }
    fetching = true; fetchedAt = Date.now();
    fetch(config.dataset.url, {credentials: "same-origin"})
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (path) {
        fetching = false;
        if (path && path.route) { data = path; show(path); if (last && nextLine) { RoadMap.trim(nextLine, last); } }
      })
      .catch(function () { fetching = false; });
  }

  // a fix from this phone (driver.js): move the marker, trim the path, ask again when due
  document.addEventListener("driver-fix", function (event) {
    if (!map) { return; }
    last = [event.detail.lat, event.detail.lng];
    place(last);
    var now = Date.now(), off = nextLine ? RoadMap.trim(nextLine, last) : 0;
    if (now - fetchedAt > (data.every_s || 20) * 1000 || (off > OFF_PATH_M && now - fetchedAt > OFF_PATH_EVERY_MS)) { refetch(); }
  });

  var corners = [];
  function fit() {
    // the van, the way to the next stop and the stop fill the map (zoom out for the rest)
    var focus = L.latLngBounds([data.start]);
    if (data.stops && data.stops.length) { focus.extend([data.stops[0].lat, data.stops[0].lng]); }
    if (nextLine) { focus.extend(nextLine.getBounds()); }
    map.fitBounds(data.stops && data.stops.length ? focus : L.latLngBounds(corners), {maxZoom: 16, padding: [30, 30]});
  }
  // the map lives in a tab: drawn hidden, it is measured and fitted when first shown
  var fitted = false;
  document.addEventListener("driver-map-shown", function () {
    if (!map) { return; }
    map.invalidateSize();
    if (!fitted) { fitted = true; fit(); }
  });

  window.showDriverPath = function (leafletMap) {
    map = leafletMap;
    corners = show(data);
    if (document.getElementById("driver-map").offsetWidth) { fitted = true; fit(); }
    document.getElementById("driver-map").dataset.drawn = "1";
    if (config.dataset.live) {  // a phone without fixes yet still gets a fresher path
      setInterval(function () { if (!document.hidden && Date.now() - fetchedAt > (data.every_s || 20) * 3000) { refetch(); } }, 5000);
    }
  };
}());
