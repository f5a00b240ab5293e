// Address type-ahead: an <input data-address-search="URL"> lists the business's own
// addresses as the dispatcher types (its road region's, imported from OpenStreetMap, and its
// own corrections), best first; picking one fires an "address-pick" event on the input
// with the candidate, and, by what the input's data-pick says:
//   fill     fills the form fields named in data-fill (JSON: part → field id);
//   remember posts the pick for the address in the input's data-* to data-remember-url
//            (the CSV review: rows to that address are placed there when imported);
//   (else)   nothing more: a page script listens to the event (the order's map).
// Keyboard: arrows move, Enter picks, Escape closes. ARIA combobox with a listbox.
(function () {
  "use strict";
  // Django's JavaScript catalog (base.html loads it first) translates; without it, English.
  var gettext = window.gettext || function (s) { return s; };
  var ngettext = window.ngettext || function (one, many, n) { return n === 1 ? one : many; };
  var interpolate = window.interpolate || function (fmt, values) {
    return fmt.replace(/%\((\w+)\)s/g, function (all, name) { return String(values[name]); });
  };
  var DELAY_MS = 180;
  var MIN_CHARS = 3;
  var counter = 0;

  function csrfToken() {
    var match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    if (match) { return decodeURIComponent(match[1]); }
    var field = document.querySelector("input[name=csrfmiddlewaretoken]");
    return field ? field.value : "";
  }

  function text(tag, className, content) {
    var el = document.createElement(tag);
    if (className) { el.className = className; }
    if (content) { el.textContent = content; }
    return el;
  }

  function line1Of(c) {
    if (c.kind === "correction") { return c.label.split(",")[0]; }
    if (c.street && c.housenumber) { return c.street + " " + c.housenumber; }
    if (c.kind === "place") { return c.name; }
    return c.street || c.label;
  }

  // Coordinates a pick filled in no longer fit once the address is typed over: cleared,
  // so the order is looked up again rather than kept on the old point.
  function forgetPick(input, status) {
    if (!input.dataset.picked) { return; }
    var targets = JSON.parse(input.dataset.fill || "{}");
    ["lat", "lng"].forEach(function (part) {
      var field = document.getElementById(targets[part]);
      if (field) { field.value = ""; }
    });
    delete input.dataset.picked;
    status.textContent = gettext("The address changed: its coordinates were cleared.");
  }

  function fill(input, c) {
    input.dataset.picked = "1";
    var targets = JSON.parse(input.dataset.fill || "{}");
    var values = {
      line1: line1Of(c), line2: c.kind === "place" && c.street ? c.name : null,
      postcode: c.postcode, city: c.city, lat: c.lat.toFixed(6), lng: c.lon.toFixed(6)
    };
    Object.keys(targets).forEach(function (part) {
      var field = document.getElementById(targets[part]);
      var value = values[part];
      if (!field || value === null || value === undefined) { return; }
      if (part === "line2" && field.value) { return; }  // the dispatcher's flat or company stays
      if ((part === "postcode" || part === "city") && !value) { return; }
      field.value = value;
      field.dispatchEvent(new Event("change", {bubbles: true}));
    });
  }

  function remember(input, c, status) {
    var body = new URLSearchParams({
      address_line1: input.dataset.line1 || "", postcode: input.dataset.postcode || "",
      city: input.dataset.city || "", country: input.dataset.country || "",
      lat: c.lat, lng: c.lon, label: c.label
    });
    status.textContent = gettext("Saving…");
    return fetch(input.dataset.rememberUrl, {
      method: "POST", credentials: "same-origin", body: body,
      headers: {"X-CSRFToken": csrfToken(), "Accept": "application/json"}
    }).then(function (r) { return r.json().then(function (data) { return {ok: r.ok, data: data}; }); })
      .then(function (answer) {
        var cell = input.closest("[data-location-cell]");
        if (!answer.ok) {
          status.textContent = interpolate(gettext("Not saved: %(why)s"), {why: Object.values(answer.data.errors || {}).join(" ")}, true);
          return;
        }
        status.textContent = "";
        if (cell) {
          cell.dataset.located = "picked";
          var done = text("span", "picked", "\u2713 " + c.label);
          done.title = interpolate(gettext("Orders to %(address)s go here."), {address: answer.data.address}, true);
          cell.querySelector("[data-location-text]").replaceChildren(done);
        }
      }, function () { status.textContent = gettext("Not saved: the server did not answer."); });
  }

  function attach(input) {
    var id = "address-options-" + (++counter);
    var wrap = text("div", "typeahead");
    input.parentNode.insertBefore(wrap, input);
    wrap.appendChild(input);
    var list = text("ul", "typeahead-list");
    list.id = id;
    list.setAttribute("role", "listbox");
    list.setAttribute("aria-label", gettext("Addresses found"));
    list.hidden = true;
    var status = text("span", "typeahead-status muted");
    status.setAttribute("role", "status");
    status.setAttribute("aria-live", "polite");
    wrap.appendChild(list);
    wrap.appendChild(status);
    input.setAttribute("role", "combobox");
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-expanded", "false");
    input.setAttribute("aria-controls", id);
    input.setAttribute("autocomplete", "off");

    var timer = null, results = [], active = -1, asked = 0;

    function close() {
      list.hidden = true;
      input.setAttribute("aria-expanded", "false");
      input.removeAttribute("aria-activedescendant");
      active = -1;
    }

    function highlight(index) {
      var options = list.querySelectorAll("[role=option]");
      options.forEach(function (o, i) { o.setAttribute("aria-selected", i === index ? "true" : "false"); });
      active = index;
      if (options[index]) {
        input.setAttribute("aria-activedescendant", options[index].id);
        options[index].scrollIntoView({block: "nearest"});
      }
    }

    function pick(index) {
      var c = results[index];
      if (!c) { return; }
      close();
      if (input.dataset.pick === "fill") { fill(input, c); } else { input.value = c.label; }
      if (input.dataset.pick === "remember") { remember(input, c, status); }
      status.textContent = input.dataset.pick === "remember" ? status.textContent : interpolate(gettext("Picked: %(label)s"), {label: c.label}, true);
      input.dispatchEvent(new CustomEvent("address-pick", {bubbles: true, detail: c}));
    }

    function show(data) {
      results = data.results || [];
      list.replaceChildren();
      results.forEach(function (c, i) {
        var item = text("li", "typeahead-option");
        item.id = id + "-" + i;
        item.setAttribute("role", "option");
        item.setAttribute("aria-selected", "false");
        item.dataset.confidence = c.confidence;
        item.appendChild(text("span", "typeahead-label", c.label));
        var how = c.kind === "correction" ? gettext("your team's location") : interpolate(gettext("match %(confidence)s"), {confidence: c.confidence.toFixed(2)}, true);
        item.appendChild(text("span", "typeahead-how muted", how + (c.note ? " \u00b7 " + c.note : "")));
        item.addEventListener("mousedown", function (event) { event.preventDefault(); pick(i); });
        list.appendChild(item);
      });
      if (!results.length) {
        list.appendChild(text("li", "typeahead-empty muted", data.message || gettext("No address like it in your region.")));
      }
      var foot = text("li", "typeahead-attribution muted", data.attribution || gettext("\u00a9 OpenStreetMap contributors"));
      foot.setAttribute("role", "presentation");
      list.appendChild(foot);
      list.hidden = false;
      input.setAttribute("aria-expanded", "true");
      status.textContent = results.length ? interpolate(ngettext("%(count)s address found", "%(count)s addresses found", results.length), {count: results.length}, true) : "";
      active = -1;
    }

    function search() {
      var q = input.value.trim();
      if (q.length < MIN_CHARS) { close(); return; }
      var mine = ++asked;
      var url = input.dataset.addressSearch + "?" + new URLSearchParams({q: q.slice(0, 200), limit: 6});
      fetch(url, {credentials: "same-origin", headers: {"Accept": "application/json"}})
        .then(function (r) { return r.json(); })
        .then(function (data) { if (mine === asked && document.activeElement === input) { show(data); } },
              function () { status.textContent = gettext("Address search is not answering."); });
    }

    input.addEventListener("input", function () {
      if (input.dataset.pick === "fill") { forgetPick(input, status); }
      clearTimeout(timer);
      timer = setTimeout(search, DELAY_MS);
    });
    input.addEventListener("keydown", function (event) {
      if (list.hidden) { return; }
      if (event.key === "ArrowDown") { event.preventDefault(); highlight(Math.min(active + 1, results.length - 1)); }
      else if (event.key === "ArrowUp") { event.preventDefault(); highlight(Math.max(active - 1, 0)); }
      else if (event.key === "Enter" && active >= 0) { event.preventDefault(); pick(active); }
      else if (event.key === "Escape") { close(); }
    });
    input.addEventListener("blur", function () { setTimeout(close, 150); });
  }

  function start() {
    document.querySelectorAll("input[data-address-search]").forEach(attach);
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
}());
