// The Learned times page: the learned areas as squares on the map (django-leaflet calls
// showLearnedAreas once the page has loaded), the week grid opened at the day's first
// drive on a phone, and, while a learning run is under way, the page read again every few
// seconds until it is done.
(function () {
  "use strict";

  var COLOURS = {
    fast2: "#2e9d57", fast1: "#7cc493", even: "#9aa5b1",
    slow1: "#e9b949", slow2: "#f0962b", slow3: "#e4692a", slow4: "#c9352b"
  };

  window.showLearnedAreas = function (map) {
    var holder = document.getElementById("area-points");
    if (!holder) { return; }
    var areas = JSON.parse(holder.textContent);
    var group = L.featureGroup();
    areas.forEach(function (area) {
      var colour = COLOURS[area.band] || COLOURS.even;
      var square = L.rectangle(area.bounds, {
        color: colour, weight: 1, fillColor: colour, fillOpacity: 0.45
      });
      square.bindTooltip(area.label);
      group.addLayer(square);
    });
    group.addTo(map);
    if (areas.length) {
      map.fitBounds(group.getBounds(), {maxZoom: 13, padding: [20, 20]});
    }
  };

  function refreshWhileBusy() {
    var config = document.getElementById("learning-config");
    var seconds = config && parseInt(config.getAttribute("data-refresh") || "0", 10);
    if (!seconds) { return; }
    window.setTimeout(function check() {
      fetch(window.location.href, {credentials: "same-origin", headers: {Accept: "text/html"}})
        .then(function (response) { return response.text(); })
        .then(function (html) {
          if (html.indexOf('id="learning-busy"') === -1) {
            window.location.reload();
          } else {
            window.setTimeout(check, seconds * 1000);
          }
        })
        .catch(function () { window.setTimeout(check, seconds * 1000); });
    }, seconds * 1000);
  }

  // On a narrow screen the week opens at the first hour anything was driven in (the
  // small hours are usually empty), not at midnight.
  function weekToFirstDrive() {
    var box = document.querySelector(".week-wrap[role=region]");
    if (!box || box.scrollWidth <= box.clientWidth) { return; }
    var first = 24;
    box.querySelectorAll("tbody tr").forEach(function (row) {
      row.querySelectorAll("td").forEach(function (cell, hour) {
        if (hour < first && cell.getAttribute("data-legs") !== "0") { first = hour; }
      });
    });
    if (first === 24 || first === 0) { return; }
    var head = box.querySelector("tbody th");
    var cell = box.querySelector("tbody tr td:nth-of-type(" + (first + 1) + ")");
    box.scrollLeft = cell.offsetLeft - (head ? head.offsetWidth : 0) - 4;
  }

  document.addEventListener("DOMContentLoaded", function () {
    // on a phone the runs' history is one tap away rather than ten tall rows
    var history = document.getElementById("run-history");
    if (history && window.matchMedia("(max-width: 760px)").matches) { history.open = false; }
    weekToFirstDrive();
    refreshWhileBusy();
  });
}());
