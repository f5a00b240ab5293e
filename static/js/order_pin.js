// The order's pin on its map (order page). The dispatcher drags it to the door (or picks
// an address in the search above the map): the page asks before it saves ("Save this
// location" / "Put it back"); saving moves the order, marks it located and remembers the
// place for its address, so the next order to it lands there too.
(function () {
  "use strict";
  // Django's JavaScript catalog (base.html loads it first) translates; without it, English.
  var gettext = window.gettext || function (s) { return s; };
  var ngettext = window.ngettext || function (one, many, n) { return n === 1 ? one : many; };
  var interpolate = window.interpolate || function (fmt, values) {
    return fmt.replace(/%\((\w+)\)s/g, function (all, name) { return String(values[name]); });
  };
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

  // `fmt` is a whole question with %(order)s, %(lat)s and %(lng)s (and any of `more`).
  function ask(at, fmt, more) {
    var values = {order: config.dataset.order, lat: at.lat.toFixed(5), lng: at.lng.toFixed(5)};
    Object.keys(more || {}).forEach(function (k) { values[k] = more[k]; });
    question.textContent = interpolate(fmt, values, true);
    bar.hidden = false;
    statusEl.textContent = "";
    saveButton.focus();
  }

  function moved() {
    var at = marker.getLatLng();
    mark(at);
    pickedLabel = "";
    ask(at, gettext("Put order #%(order)s at %(lat)s, %(lng)s?"));
  }

  function putBack() {
    bar.hidden = true;
    if (saved) {
      marker.setLatLng(saved);
      mark(marker.getLatLng());
      statusEl.textContent = gettext("The pin is back where the order is.");
    } else {
      statusEl.textContent = gettext("Not saved: the order still needs a location.");
    }
  }

  function save() {
    var at = marker.getLatLng();
    saveButton.disabled = true;
    statusEl.textContent = gettext("Saving…");
    fetch(config.dataset.url, {
      method: "POST", credentials: "same-origin",
      headers: {"X-CSRFToken": csrfToken(), "Accept": "application/json"},
      body: new URLSearchParams({lat: at.lat.toFixed(6), lng: at.lng.toFixed(6), label: pickedLabel})
    }).then(function (r) { return r.json().then(function (data) { return {ok: r.ok, data: data}; }); })
      .then(function (answer) {
        saveButton.disabled = false;
        if (!answer.ok) {
          var errors = answer.data.errors || {};
          var why = Object.keys(errors).map(function (k) { return errors[k].join(" "); }).join(" ");
          statusEl.textContent = interpolate(gettext("Not saved: %(why)s"), {why: why}, true);
          return;
        }
        var order = answer.data.order;
        saved = [order.lat, order.lng];
        bar.hidden = true;
        marker.getElement().dataset.saved = "1";
        locationEl.textContent = order.lat.toFixed(5) + ", " + order.lng.toFixed(5) + " (" + order.geocode_status_display + ")";
        statusEl.textContent = answer.data.remembered
          ? interpolate(gettext("Location saved. Orders to %(address)s will be placed here from now on."), {address: order.address}, true)
          : gettext("Location saved.");
      }, function () {
        saveButton.disabled = false;
        statusEl.textContent = gettext("Not saved: the server did not answer.");
      });
  }

  window.orderPinMap = function (leafletMap) {
    map = leafletMap;
    var lat = parseFloat(config.dataset.lat), lng = parseFloat(config.dataset.lng);
    var suggested = config.dataset.suggested === "1";
    saved = suggested ? null : [lat, lng];
    var title = interpolate(gettext("Order #%(order)s"), {order: config.dataset.order}, true);
    var movable = config.dataset.movable === "1";
    marker = L.marker([lat, lng], {draggable: movable, title: title, alt: title, autoPan: true}).addTo(map);
    marker.getElement().id = "order-pin";
    mark(marker.getLatLng());
    map.setView([lat, lng], 17);
    marker.on("dragend", moved);
    if (suggested && movable) {
      var hint = document.createElement("span");
      hint.textContent = interpolate(gettext("Suggested: %(label)s. Drag the pin to the door, then save."), {label: config.dataset.label}, true);
      marker.bindPopup(hint).openPopup();
      pickedLabel = config.dataset.label;
      ask(marker.getLatLng(), gettext("Put order #%(order)s at the suggested %(lat)s, %(lng)s?"));
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
    ask(marker.getLatLng(), gettext("Put order #%(order)s at %(label)s, %(lat)s, %(lng)s?"), {label: c.label});
  });
}());
