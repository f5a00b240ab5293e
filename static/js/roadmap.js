// Road paths on the maps (plan, live map, driver app, tracking page). The server sends each
// path as legs of Google encoded polylines (5 decimals): a leg on the roads is drawn solid,
// a leg drawn straight (no road region, or no road joins its ends) dashed. Where roads are
// drawn, their data is attributed to OpenStreetMap's contributors on the map itself.
(function () {
  "use strict";

  function decode(text) {
    var points = [], index = 0, lat = 0, lng = 0;
    while (index < text.length) {
      var deltas = [];
      for (var k = 0; k < 2; k++) {
        var shift = 0, result = 0, byte;
        do {
          byte = text.charCodeAt(index++) - 63;
          result |= (byte & 0x1f) << shift;
          shift += 5;
        } while (byte >= 0x20);
        deltas.push(result & 1 ? ~(result >> 1) : result >> 1);
      }
      lat += deltas[0]; lng += deltas[1];
      points.push([lat / 1e5, lng / 1e5]);
    }
    return points;
  }

  // legs → one Leaflet layer group; `style`: the polyline options; `className`: added to
  // every leg's path (with "road-leg" or "straight-leg")
  function draw(legs, style, className) {
    var group = L.featureGroup();
    (legs || []).forEach(function (leg) {
      var options = L.Util.extend({}, style, {
        className: (className || "") + (leg.road ? " road-leg" : " straight-leg"),
        dashArray: leg.road ? null : "6 8",
        interactive: false
      });
      var line = L.polyline(decode(leg.line), options);
      line.road = leg.road;
      group.addLayer(line);
    });
    return group;
  }

  // the last metres from the road the van stops on to a stop off it: thin and dotted
  function walks(lines, colour) {
    var group = L.featureGroup();
    (lines || []).forEach(function (line) {
      group.addLayer(L.polyline(decode(line), {color: colour, weight: 2, opacity: 0.8, dashArray: "1 5", lineCap: "round", interactive: false, className: "walk-leg"}));
    });
    return group;
  }

  function vertices(legs) {
    return (legs || []).reduce(function (sum, leg) { return sum + decode(leg.line).length; }, 0);
  }

  // once per map: "Road paths © OpenStreetMap contributors" beside the tiles' own credit
  function attribute(map, attribution) {
    if (!attribution || map._roadsAttributed || !map.attributionControl) { return; }
    // Django's JavaScript catalog when the page has it; plain English otherwise
    var fmt = window.gettext ? window.gettext("Road paths %(attribution)s") : "Road paths %(attribution)s";
    map.attributionControl.addAttribution(fmt.replace("%(attribution)s", attribution));
    map._roadsAttributed = true;
  }

  // The van moved along its path since the path was fetched: start the path at the van,
  // from the nearest of the path's first vertices. Returns how far (m) the van is from the
  // path, so that the caller fetches a new one when the van has left it.
  function trim(line, at, look) {
    var points = line.getLatLngs();
    if (!points.length) { return Infinity; }
    var here = L.latLng(at), best = 0, bestM = Infinity;
    if (!line.road) {  // a straight leg: from the van to where it goes
      line.setLatLngs([here, points[points.length - 1]]);
      return 0;
    }
    // the last vertex (the stop) always stays
    for (var k = 0; k < Math.min(points.length - 1, look || 200); k++) {
      var m = here.distanceTo(points[k]);
      if (m < bestM) { bestM = m; best = k; }
    }
    line.setLatLngs([here].concat(points.slice(best + 1)));
    return bestM;
  }

  window.RoadMap = {decode: decode, draw: draw, walks: walks, vertices: vertices, attribute: attribute, trim: trim};
}());
