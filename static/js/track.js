// The customer's tracking page: the driver's marker moves while they head here, the
// expected window follows the server's promise, and a change of status (delivered,
// say) reloads the page.
(function () {
  "use strict";
  var gettext = window.gettext || function (s) { return s; };
  var ngettext = window.ngettext || function (one, many, n) { return n === 1 ? one : many; };
  var interpolate = window.interpolate || function (fmt, obj) {
    return fmt.replace(/%\(\w+\)s/g, function (m) { return String(obj[m.slice(2, -2)]); });
  };
  var token = document.getElementById("track-config").dataset.token;
  var snapshot = JSON.parse(document.getElementById("track-snapshot").textContent);
  var map = null, marker = null, seq = 0, retry = 1000;
  // the road path from the van to this address (nothing of the driver's other stops):
  // trimmed to the van as it moves, asked again at most every `every_s`
  var config = document.getElementById("track-config");
  var pathData = JSON.parse(document.getElementById("track-path").textContent);
  // the business's accent colour (validated #rrggbb on the server) for the path and the van
  var accent = /^#[0-9a-fA-F]{6}$/.test(config.dataset.accent || "") ? config.dataset.accent : "#0b63ce";
  var pathLayer = null, pathLine = null, pathAt = Date.now(), pathFetching = false;

  function drawPath(data) {
    if (!map || !window.RoadMap) { return; }
    if (pathLayer) { map.removeLayer(pathLayer); }
    pathLayer = RoadMap.draw(data.legs, {color: accent, weight: 5, opacity: 0.8}, "track-path").addTo(map);
    pathLine = pathLayer.getLayers()[0] || null;
    RoadMap.walks(data.walks, accent).addTo(pathLayer);
    RoadMap.attribute(map, data.attribution);
    document.getElementById("track-map").dataset.pathVertices = String(RoadMap.vertices(data.legs));
  }

  function followPath(at) {
    var now = Date.now(), every = (pathData.every_s || 20) * 1000;
    var off = pathLine ? RoadMap.trim(pathLine, at) : Infinity;
    if (pathFetching || (now - pathAt < every && !(off > 60 && now - pathAt > 5000))) { return; }
    pathFetching = true; pathAt = now;
    fetch(config.dataset.pathUrl)
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) { pathFetching = false; if (data) { pathData = data; drawPath(data); } })
      .catch(function () { pathFetching = false; });
  }

  function show(position) {
    if (!map || !position || position.seq <= seq) { return; }
    seq = position.seq;
    if (!marker) {
      marker = L.circleMarker([position.lat, position.lng], {radius: 9, color: accent, fillOpacity: 0.9, className: "driver-position"}).addTo(map);
    } else {
      marker.setLatLng([position.lat, position.lng]);
    }
    var el = document.getElementById("track-map");
    el.dataset.lat = position.lat; el.dataset.lng = position.lng;
    followPath([position.lat, position.lng]);
    var points = [[position.lat, position.lng]];
    if (snapshot.destination) { points.push(snapshot.destination); }
    var bounds = L.latLngBounds(points);
    if (pathLayer && pathLayer.getLayers().length) { bounds.extend(pathLayer.getBounds()); }
    map.fitBounds(bounds, {maxZoom: 15, padding: [40, 40]});
  }

  // The server words the arrival window (the tenant's zone and clock, as in the SMS);
  // the browser's own clock and zone are not the customer's promise.
  function expect(text) {
    var eta = document.getElementById("track-eta");
    if (!eta || !text) { return; }
    eta.textContent = text;
    eta.hidden = false;
  }

  function connect() {
    var scheme = location.protocol === "https:" ? "wss://" : "ws://";
    var socket = new WebSocket(scheme + location.host + "/ws/track/" + encodeURIComponent(token) + "/");
    socket.onopen = function () { retry = 1000; };
    socket.onmessage = function (event) {
      var m = JSON.parse(event.data);
      if (m.type === "snapshot") {
        if (m.status !== snapshot.status) { location.reload(); return; }
        expect(m.text);
        show(m.position);
      } else if (m.type === "position") { show(m); }
      else if (m.type === "status") { location.reload(); }
      else if (m.type === "eta") { expect(m.text); }
    };
    socket.onclose = function (event) {
      if (event.code === 4404) { return; }  // expired or unknown: nothing more to follow
      setTimeout(connect, retry);
      retry = Math.min(retry * 2, 30000);
    };
  }

  window.startTracking = function (leafletMap) {
    map = leafletMap;
    if (snapshot.destination) {
      L.marker(snapshot.destination, {title: gettext("You"), alt: gettext("Your address")}).addTo(map);
      map.setView(snapshot.destination, 14);
    }
    drawPath(pathData);
    show(snapshot.position);
  };

  // The rating form works as a plain post (the server redirects back and thanks); here it
  // is sent in the background so the page stays where it is. Anything unexpected falls
  // back to the plain post.
  var ratingForm = document.getElementById("rating-form");
  function fieldError(name, texts) {
    var el = document.getElementById("rating-" + name + "-error");
    if (!el) { return; }
    el.textContent = (texts || []).join(" ");
    el.hidden = !texts || !texts.length;
  }
  if (ratingForm && window.fetch && window.FormData) {
    ratingForm.addEventListener("submit", function (event) {
      event.preventDefault();
      var button = ratingForm.querySelector("button[type=submit]");
      button.disabled = true;
      fetch(ratingForm.action, {
        method: "POST",
        body: new FormData(ratingForm),
        headers: {"Accept": "application/json"},
        credentials: "same-origin"
      }).then(function (response) {
        if (response.status !== 201 && response.status !== 400) { throw new Error(String(response.status)); }
        return response.json().then(function (data) { return {status: response.status, data: data}; });
      }).then(function (answer) {
        if (answer.status === 201) {
          var section = document.getElementById("track-rating");
          var n = answer.data.stars;
          var heading = document.createElement("h2");
          heading.id = "track-rating-title";
          heading.textContent = interpolate(
            ngettext("Thanks \u2014 you rated %(stars)s star", "Thanks \u2014 you rated %(stars)s stars", n),
            {stars: n}, true);
          heading.tabIndex = -1;
          section.replaceChildren(heading);
          var comment = String(new FormData(ratingForm).get("comment") || "").trim();
          if (comment) {  // as the page shows it after a reload
            var said = document.createElement("p");
            said.className = "muted";
            said.textContent = comment;
            section.appendChild(said);
          }
          heading.focus();
          return;
        }
        var errors = answer.data.errors || {};
        if (errors.__all__) { location.reload(); return; }  // rated already: the page thanks
        fieldError("stars", errors.stars);
        fieldError("comment", errors.comment);
        button.disabled = false;
      }).catch(function () { ratingForm.submit(); });
    });
  }
  connect();
}());
