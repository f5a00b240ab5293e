// The order's pin on its map (order page). The dispatcher drags it to the door (or picks
// an address in the search above the map): the page asks before it saves ("Save this
// location" / "Put it back"); saving moves the order, marks it located and remembers the
// place for its address, so the next order to it lands there too.
(function () {
  "use strict";
  var config = document.getElementById("order-pin-config");
  if (!config) { return; }
  var bar = document.getElementById("pin-confirm");
  var question = document.getElementById("pin-question");
  var saveButton = document.getElementById("pin-save");
  var backButton = document.getElementById("pin-back");
  var statusEl = document.getElementById("pin-status");
  var locationEl = document.getElementById("order-location");
  var marker = null, map = null;
  var saved = null;  // where the order is, as stored: [lat, lng] or null
  var pickedLabel = "";

  function csrfToken() {
    var match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : config.dataset.csrf;
  }

  function mark(at) {
    var el = marker.getElement();
    if (el) { el.dataset.lat = at.lat.toFixed(6); el.dataset.lng = at.lng.toFixed(6); }
  }

  function ask(at, why) {
    question.textContent = why + " " + at.lat.toFixed(5) + ", " + at.lng.toFixed(5) + "?";
    bar.hidden = false;
    statusEl.textContent = "";
    saveButton.focus();
  }

  function moved() {
    var at = marker.getLatLng();
    mark(at);
    pickedLabel = "";
    ask(at, "Put order #" + config.dataset.order + " at");
  }

  function putBack() {
    bar.hidden = true;
    if (saved) {
      marker.setLatLng(saved);
      mark(marker.getLatLng());
      statusEl.textContent = "The pin is back where the order is.";
    } else {
      statusEl.textContent = "Not saved: the order still needs a location.";
    }
  }

  function save() {
    var at = marker.getLatLng();
    saveButton.disabled = true;
    statusEl.textContent = "Saving…";
    fetch(config.dataset.url, {
      method: "POST", credentials: "same-origin",
      headers: {"X-CSRFToken": csrfToken(), "Accept": "application/json"},
      body: new URLSearchParams({lat: at.lat.toFixed(6), lng: at.lng.toFixed(6), label: pickedLabel})
    }).then(function (r) { return r.json().then(function (data) { return {ok: r.ok, data: data}; }); })
      .then(function (answer) {
        saveButton.disabled = false;
        if (!answer.ok) {
          var errors = answer.data.errors || {};
          statusEl.textContent = "Not saved: " + Object.keys(errors).map(function (k) { return errors[k].join(" "); }).join(" ");
          return;
        }
        var order = answer.data.order;
        saved = [order.lat, order.lng];
        bar.hidden = true;
        marker.getElement().dataset.saved = "1";
        locationEl.textContent = order.lat.toFixed(5) + ", " + order.lng.toFixed(5) + " (" + order.geocode_status_display + ")";
        statusEl.textContent = "Location saved." + (answer.data.remembered
          ? " Orders to " + order.address + " will be placed here from now on." : "");
      }, function () {
        saveButton.disabled = false;
        statusEl.textContent = "Not saved: the server did not answer.";
      });
  }

  window.orderPinMap = function (leafletMap) {
    map = leafletMap;
    var lat = parseFloat(config.dataset.lat), lng = parseFloat(config.dataset.lng);
    var suggested = config.dataset.suggested === "1";
    saved = suggested ? null : [lat, lng];
    var title = "Order #" + config.dataset.order;
    var movable = config.dataset.movable === "1";
    marker = L.marker([lat, lng], {draggable: movable, title: title, alt: title, autoPan: true}).addTo(map);
    marker.getElement().id = "order-pin";
    mark(marker.getLatLng());
    map.setView([lat, lng], 17);
    marker.on("dragend", moved);
    if (suggested && movable) {
      var hint = document.createElement("span");
      hint.textContent = "Suggested: " + config.dataset.label + ". Drag the pin to the door, then save.";
      marker.bindPopup(hint).openPopup();
      pickedLabel = config.dataset.label;
      ask(marker.getLatLng(), "Put order #" + config.dataset.order + " at the suggested");
    }
  };

  saveButton.addEventListener("click", save);
  backButton.addEventListener("click", putBack);
  document.addEventListener("address-pick", function (event) {
    if (!marker || event.target.dataset.pick !== "pin") { return; }
    var c = event.detail;
    marker.setLatLng([c.lat, c.lon]);
    map.setView([c.lat, c.lon], 17);
    mark(marker.getLatLng());
    pickedLabel = c.label;
    ask(marker.getLatLng(), "Put order #" + config.dataset.order + " at " + c.label + ",");
  });
}());
