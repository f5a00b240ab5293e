// The dispatch board (templates/routing/board.html). Routes and the pool are lists whose
// stops drag between them (SortableJS); timeline bars drag between rows; pins drag onto
// other pins on the map. Every drop goes to the server at once with the plan's revision as
// the board shows it: the server re-times the routes and answers with them (saved), with
// what the move would break (not saved until the dispatcher keeps it), or with the plan as
// it stands now when someone changed it first (409). Drivers move live over the
// dispatchers' websocket, which also says when the plan changed elsewhere.
(function () {
  "use strict";
  // Django's JavaScript catalog (base.html loads it); English until it is there
  function gettext(s) { return window.gettext ? window.gettext(s) : s; }
  function ngettext(s, p, n) { return window.ngettext ? window.ngettext(s, p, n) : (n === 1 ? s : p); }
  function interpolate(fmt, obj) {
    if (window.interpolate) { return window.interpolate(fmt, obj, true); }
    return fmt.replace(/%\((\w+)\)s/g, function (m, name) { return String(obj[name]); });
  }
  var board = document.getElementById("board");
  if (!board) { return; }
  var planId = Number(board.dataset.plan);
  var editable = board.dataset.editable === "1";
  var csrf = (function () {
    try { return JSON.parse(document.body.getAttribute("hx-headers"))["X-CSRFToken"]; } catch (e) { return ""; }
  }());
  var notice = document.getElementById("board-notice");
  var liveEl = document.getElementById("board-live");
  var mapData = JSON.parse(document.getElementById("board-map-data").textContent);
  var map = null, pinLayer = null, pathLayers = {}, vans = {}, depotLayer = null;
  var following = board.dataset.follow || "";
  var selected = null;        // order id selected in the list or on the map
  var filter = "";            // "late" / "at_risk": only those stops are shown
  var busy = false;           // a drop is on its way
  var heard = 0;              // the newest revision the socket spoke of
  var sortables = [];
  var lastMove = null;        // {order, route, position}: where the last saved drop took it from

  function revision() { return Number(board.dataset.revision); }

  // --- notices ---------------------------------------------------------------------------
  var noticeTimer = null;
  function say(text, kind, action) {
    notice.textContent = text;
    notice.className = "board-notice" + (kind ? " " + kind : "");
    if (action) {
      var button = document.createElement("button");
      button.type = "button"; button.textContent = action.label;
      button.addEventListener("click", action.run);
      notice.appendChild(button);
    }
    notice.hidden = false;
    clearTimeout(noticeTimer);
    noticeTimer = setTimeout(function () { notice.hidden = true; }, action ? 15000 : 8000);
  }

  // --- talking to the server -------------------------------------------------------------
  function post(url, fields) {
    var body = new URLSearchParams(fields);
    return fetch(url, {
      method: "POST", credentials: "same-origin", body: body,
      headers: {"X-CSRFToken": csrf, "Accept": "application/json"}
    }).then(function (r) {
      return r.json().then(function (data) { return {status: r.status, data: data}; },
        function () { return {status: r.status, data: {errors: {detail: [interpolate(gettext("The server did not answer (%(status)s)."), {status: r.status})]}}}; });
    });
  }

  function refresh() {
    return fetch(board.dataset.stateUrl, {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (state) {
        if (!state) { return; }
        if (held || dragging) { refreshSoon(true); return; }  // answered under a hand: after it
        apply(state);
      });
  }

  function showHead(html) {
    var head = document.getElementById("board-head");
    head.innerHTML = html;
    if (window.htmx) { window.htmx.process(head); }
  }

  // the day's counts and actions, after a drop (its answer carries only what it changed)
  function refreshHead() {
    return fetch(board.dataset.stateUrl + "?part=head", {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) {
        if (data && data.revision === revision()) { showHead(data.head); }
        document.querySelectorAll("[data-revision]").forEach(function (input) { input.value = revision(); });
      });
  }

  var soon = null, held = false, stale = false;
  function quiet() { return !busy && !pending && !held && !dragging; }
  // `always`: a stop changed (its state, not the plan's revision), so look whatever the
  // revision says; otherwise look only if the plan is still behind what the socket heard
  // when the time comes (the answer to our own drop often brings it up to date first, and
  // a needless redraw would pull the lists out from under the next drag)
  function refreshSoon(always) {
    stale = stale || !!always;
    clearTimeout(soon);
    // not under the dispatcher's hand: while a drop is on its way, a drag is held or a
    // preview waits for an answer, the board stays as it is and looks again after
    soon = setTimeout(function () {
      if (!quiet()) { refreshSoon(); return; }
      if (stale || heard > revision()) { stale = false; refresh(); }
    }, 400);
  }
  // a stop under the pointer is held from the press, before SortableJS starts its drag
  // (it waits for the pointer to move), so that no redraw lands in between
  document.addEventListener("pointerdown", function (event) {
    if (event.target.closest && event.target.closest(".board-stops .board-stop")) { held = true; }
  });
  ["pointerup", "pointercancel"].forEach(function (name) {
    document.addEventListener(name, function () { setTimeout(function () { held = false; }, 0); });
  });

  function errorsText(errors) {
    var out = [];
    Object.keys(errors || {}).forEach(function (k) { out = out.concat(errors[k]); });
    return out.join(" ") || gettext("The move was refused.");
  }

  // Move `order` to `route` ("pool" or an id) at `position` (1-based, break counted; null:
  // last). `from` is where it was, for undo.
  function drop(order, route, position, from, confirm, seen) {
    if (busy || pending) {  // one change at a time: the list may show a move that was not sent
      say(pending ? gettext("Keep or undo the move above first.") : gettext("Wait for the last move to be saved."));
      refresh();
      return;
    }
    busy = true;
    board.classList.add("is-busy");
    // `seen`: the revision a preview was made on, so that keeping it on a plan changed
    // since is refused rather than saved unseen
    var fields = {order: order, route: route, revision: seen || revision()};
    if (position) { fields.position = position; }
    if (confirm) { fields.confirm = "1"; }
    return post(board.dataset.dropUrl, fields).then(function (answer) {
      busy = false;
      board.classList.remove("is-busy");
      var data = answer.data;
      if (answer.status === 409) {
        apply(data);
        say(gettext("Someone else changed this plan first, so your move was not saved. The board now shows the plan as it stands: try again."), "error");
      } else if (answer.status !== 200) {
        refresh();
        say(errorsText(data.errors), "error");
      } else if (!data.saved) {
        showPreview(order, route, position, from, data.preview, data.revision);
      } else {
        apply(data);
        lastMove = from ? {order: order, route: from.route, position: from.position} : null;
        say(summary(order, route, data.preview), "", lastMove ? {label: gettext("Undo"), run: undo} : null);
      }
      if (heard > revision()) { refreshSoon(); }
    }, function () {
      busy = false;
      board.classList.remove("is-busy");
      refresh();
      say(gettext("The server could not be reached; nothing was moved."), "error");
    });
  }

  function undo() {
    if (!lastMove) { return; }
    var m = lastMove; lastMove = null;
    notice.hidden = true;
    drop(m.order, m.route, m.route === "pool" ? null : m.position, null, true);
  }

  function summary(order, route, preview) {
    if (route === "pool") { return interpolate(gettext("Order #%(order)s is unassigned now."), {order: order}); }
    var change = (preview.routes || []).filter(function (r) { return String(r.id) === String(route); })[0];
    if (!change) { return interpolate(gettext("Order #%(order)s moved."), {order: order}); }
    var values = {order: order, driver: change.driver, ends: change.ends_after, minutes: (change.minutes > 0 ? "+" : "") + change.minutes};
    return interpolate(change.minutes ?
      gettext("Order #%(order)s is on %(driver)s's route; it now ends at %(ends)s (%(minutes)s min).") :
      gettext("Order #%(order)s is on %(driver)s's route; it now ends at %(ends)s."), values);
  }

  // --- the preview of a move that breaks a rule -------------------------------------------
  var preview = document.getElementById("board-preview");
  var pending = null;
  function showPreview(order, route, position, from, data, seen) {
    pending = {order: order, route: route, position: position, from: from, seen: seen};
    var breaks = document.getElementById("board-preview-breaks");
    var routes = document.getElementById("board-preview-routes");
    breaks.textContent = ""; routes.textContent = "";
    data.breaks.forEach(function (text) {
      var li = document.createElement("li"); li.textContent = "⚠ " + text; breaks.appendChild(li);
    });
    data.routes.forEach(function (r) {
      var li = document.createElement("li");
      var values = {driver: r.driver, ends: r.ends_after, km: r.km_after, was_ends: r.ends_before, was_km: r.km_before, minutes: (r.minutes > 0 ? "+" : "") + r.minutes};
      li.textContent = interpolate(r.minutes ?
        gettext("%(driver)s: ends %(ends)s (%(minutes)s min), %(km)s km (was %(was_ends)s, %(was_km)s km)") :
        gettext("%(driver)s: ends %(ends)s, %(km)s km (was %(was_ends)s, %(was_km)s km)"), values);
      routes.appendChild(li);
      Object.keys(r.starts).forEach(function (id) {  // the re-timed stops, shown in place
        var eta = document.querySelector("#board-stop-" + id + " .eta");
        if (eta) { eta.textContent = r.starts[id]; eta.classList.add("previewed"); }
      });
    });
    preview.hidden = false;
    document.getElementById("board-preview-keep").focus();
  }
  document.getElementById("board-preview-keep").addEventListener("click", function () {
    preview.hidden = true;
    var p = pending; pending = null;
    if (p) { drop(p.order, p.route, p.position, p.from, true, p.seen); }
  });
  document.getElementById("board-preview-undo").addEventListener("click", function () {
    preview.hidden = true; pending = null;
    refresh();
  });

  // --- applying the server's state --------------------------------------------------------
  function replace(id, html) {
    var old = document.getElementById(id);
    if (!old) { return false; }
    var holder = document.createElement("div");
    holder.innerHTML = html.trim();
    old.replaceWith(holder.firstElementChild);
    return true;
  }

  function apply(state) {
    if (!state || !state.html) { return; }
    if (Number(state.revision) < revision()) { return; }  // an answer overtaken by a newer one
    if (!state.full && state.axis !== board.dataset.axis) { refresh(); return; }  // the day grew: every row moves
    board.dataset.revision = state.revision;
    board.dataset.axis = state.axis;
    document.querySelectorAll("[data-revision]").forEach(function (input) { input.value = state.revision; });
    if (state.html.head) { showHead(state.html.head); }
    var ids = Object.keys(state.html.routes);
    if (state.full) {
      var order = state.map.routes.map(function (r) { return String(r.id); });
      document.getElementById("board-routes").innerHTML = order.map(function (id) { return state.html.routes[id] || ""; }).join("");
      document.getElementById("board-rows").innerHTML = order.map(function (id) { return state.html.rows[id] || ""; }).join("");
      document.getElementById("board-axis").innerHTML = state.html.axis || "";
    } else {
      ids.forEach(function (id) {
        replace("board-route-" + id, state.html.routes[id]);
        replace("board-row-" + id, state.html.rows[id]);
      });
    }
    if (state.html.pool !== null) { document.getElementById("board-pool-holder").innerHTML = state.html.pool; }
    if (state.full) {
      mapData = state.map;
    } else {  // a drop's answer: the routes it changed (and the pool, if it changed)
      var changed = {};
      state.map.routes.forEach(function (r) { changed[r.id] = r; });
      mapData.routes = mapData.routes.map(function (r) { return changed[r.id] || r; });
      if (state.map.pool !== null) { mapData.pool = state.map.pool; }
      mapData.revision = state.revision;
      refreshHead();
    }
    setupLists();
    applyFilter();
    markFollowed();
    if (selected) { select(selected, false); }
    if (map) { drawPins(); drawPaths(state.full ? null : ids); }
    board.dispatchEvent(new CustomEvent("board:applied", {detail: {revision: state.revision}}));
  }

  // --- the lists ----------------------------------------------------------------------------
  function positionOf(item) { return item.dataset.position ? Number(item.dataset.position) : null; }

  function setupLists() {
    sortables.forEach(function (s) { s.destroy(); });
    sortables = [];
    if (!editable || typeof Sortable === "undefined") { return; }
    document.querySelectorAll(".board-stops").forEach(function (list) {
      var locked = list.dataset.locked === "1";
      sortables.push(Sortable.create(list, {
        group: {name: "stops", pull: !locked, put: !locked},
        draggable: ".board-stop",
        filter: ".state-break, .pinned",
        preventOnFilter: false,
        animation: 120,
        forceFallback: true, fallbackOnBody: true,  // one way of dragging for mouse, pen and touch
        scroll: true, bubbleScroll: true,
        delay: 120, delayOnTouchOnly: true,  // a phone scrolls the list until a stop is held
        onStart: function () { held = true; },
        onMove: function (evt) { return !(evt.related && evt.related.classList.contains("pinned") && !evt.willInsertAfter); },
        onEnd: function (evt) {
          held = false;
          if (evt.from === evt.to && evt.oldIndex === evt.newIndex) { return; }
          var item = evt.item;
          var from = {route: evt.from.dataset.route, position: positionOf(item)};
          var to = evt.to.dataset.route;
          drop(item.dataset.order, to, to === "pool" ? null : evt.newIndex + 1, from);
        }
      }));
    });
  }

  function applyFilter() {
    document.querySelectorAll(".board-stop[data-order]").forEach(function (li) {
      li.classList.toggle("is-hidden", !!filter && li.dataset.state !== filter && li.closest("[data-route]").dataset.route !== "pool");
    });
  }
  document.addEventListener("click", function (event) {
    var link = event.target.closest("[data-filter]");
    if (!link || !board.contains(link)) { return; }
    event.preventDefault();
    filter = filter === link.dataset.filter ? "" : link.dataset.filter;
    applyFilter();
    say(filter ? (filter === "late" ? gettext("Showing only late stops. Click the count again to show all.") : gettext("Showing only at-risk stops. Click the count again to show all.")) : gettext("Showing every stop."));
  });

  // --- selection and the keyboard's way to move -----------------------------------------
  var movePanel = document.getElementById("board-selected");
  function select(order, fromMap) {
    document.querySelectorAll(".board-stop.is-selected").forEach(function (li) { li.classList.remove("is-selected"); });
    selected = order ? String(order) : null;
    var li = selected && document.getElementById("board-stop-" + selected);
    if (!li) { movePanel.hidden = true; selected = null; highlightPin(null); return; }
    li.classList.add("is-selected");
    if (fromMap) { li.scrollIntoView({block: "center", behavior: "smooth"}); }
    document.getElementById("board-selected-name").textContent = "#" + selected + " " + li.querySelector(".name").textContent;
    document.getElementById("board-selected-link").href = board.dataset.orderUrl.replace("/0/", "/" + selected + "/");
    var list = li.closest(".board-stops");
    document.getElementById("board-move-route").value = list.dataset.route;
    document.getElementById("board-move-position").value = li.dataset.position || "";
    movePanel.hidden = !editable || li.classList.contains("pinned");
    var lockForm = document.getElementById("board-lock-form");
    var lockedNow = li.classList.contains("is-locked");
    lockForm.hidden = list.dataset.route === "pool";
    document.getElementById("board-lock-order").value = selected;
    document.getElementById("board-lock-value").value = lockedNow ? "0" : "1";
    document.getElementById("board-lock-button").textContent = lockedNow ? gettext("Unlock (re-optimising may move it)") : gettext("Keep on this route when re-optimising");
    highlightPin(selected);
  }
  document.getElementById("board-list").addEventListener("click", function (event) {
    var li = event.target.closest(".board-stop[data-order]");
    if (!li || event.target.closest("a, button, form")) { return; }
    select(li.dataset.order, false);
    var pin = pins[li.dataset.order];
    if (pin && map) { map.panTo(pin.getLatLng()); }
  });
  document.getElementById("board-list").addEventListener("keydown", function (event) {
    var li = event.target.closest && event.target.closest(".board-stop[data-order]");
    if (li && (event.key === "Enter" || event.key === " ")) {
      event.preventDefault();
      select(li.dataset.order, false);
      if (!movePanel.hidden) { document.getElementById("board-move-route").focus(); }
    }
  });
  document.getElementById("board-selected-close").addEventListener("click", function () { select(null); });
  document.getElementById("board-move-form").addEventListener("submit", function (event) {
    event.preventDefault();
    if (!selected) { return; }
    var li = document.getElementById("board-stop-" + selected);
    var from = li ? {route: li.closest(".board-stops").dataset.route, position: positionOf(li)} : null;
    var route = document.getElementById("board-move-route").value;
    var position = document.getElementById("board-move-position").value;
    drop(selected, route, route === "pool" ? null : (position ? Number(position) : null), from);
  });

  // --- the timeline: drag a bar to another time or another row ------------------------------
  var dragging = null;
  document.getElementById("board-timeline").addEventListener("pointerdown", function (event) {
    var bar = event.target.closest(".tl-bar.stop");
    if (!bar || !editable) { return; }
    var track = bar.closest(".tl-track");
    var li = document.getElementById("board-stop-" + bar.dataset.order);
    if (track.dataset.locked === "1" || (li && li.classList.contains("pinned"))) { return; }
    event.preventDefault();
    var ghost = document.createElement("div");
    ghost.className = "tl-ghost";
    document.body.appendChild(ghost);
    dragging = {bar: bar, track: track, ghost: ghost, x: event.clientX, y: event.clientY, moved: false};
    bar.classList.add("dragging");
    bar.setPointerCapture && bar.setPointerCapture(event.pointerId);
  });
  function trackAt(x, y) {
    var el = document.elementFromPoint(x, y);
    var row = el && el.closest && el.closest(".tl-row");
    return row ? row.querySelector(".tl-track") : null;
  }
  document.addEventListener("pointermove", function (event) {
    if (!dragging) { return; }
    dragging.moved = dragging.moved || Math.abs(event.clientX - dragging.x) + Math.abs(event.clientY - dragging.y) > 4;
    dragging.ghost.style.left = (event.clientX - 7) + "px";
    dragging.ghost.style.top = (event.clientY - 8) + "px";
    document.querySelectorAll(".tl-track.drop-target").forEach(function (t) { t.classList.remove("drop-target"); });
    var track = trackAt(event.clientX, event.clientY);
    if (track && track.dataset.locked !== "1") { track.classList.add("drop-target"); }
  });
  document.addEventListener("pointerup", function (event) {
    if (!dragging) { return; }
    var d = dragging; dragging = null;
    d.ghost.remove();
    d.bar.classList.remove("dragging");
    document.querySelectorAll(".tl-track.drop-target").forEach(function (t) { t.classList.remove("drop-target"); });
    var track = trackAt(event.clientX, event.clientY);
    if (!d.moved) { select(d.bar.dataset.order, true); return; }
    if (!track || track.dataset.locked === "1") { return; }
    var box = track.getBoundingClientRect();
    var at = 100 * (event.clientX - box.left) / Math.max(box.width, 1);
    // its place: after every stop (and break) of the row that starts before the drop
    var before = 0;
    track.querySelectorAll(".tl-bar[data-position]").forEach(function (bar) {
      if (bar === d.bar) { return; }
      if (parseFloat(bar.style.left) + parseFloat(bar.style.width) / 2 < at) { before += 1; }
    });
    var from = {route: d.track.dataset.route, position: Number(d.bar.dataset.position)};
    if (track === d.track && before + 1 === from.position) { return; }
    drop(d.bar.dataset.order, track.dataset.route, before + 1, from);
  });

  // --- the map ----------------------------------------------------------------------------
  var pins = {};
  function colourOf(routeId) {
    var r = mapData.routes.filter(function (x) { return String(x.id) === String(routeId); })[0];
    return r ? r.colour : "#555";
  }
  function pinIcon(stop, colour, selectedPin) {
    var span = document.createElement("span");
    span.textContent = String(stop.position);
    span.style.setProperty("--route", colour);
    return L.divIcon({
      className: "board-pin state-" + stop.state + (selectedPin ? " is-selected" : ""),
      html: span.outerHTML, iconSize: [22, 22], iconAnchor: [11, 11]
    });
  }
  function highlightPin(order) {
    Object.keys(pins).forEach(function (id) {
      var el = pins[id].getElement();
      if (el) { el.classList.toggle("is-selected", id === String(order)); }
    });
  }

  function drawPins() {
    pinLayer.clearLayers();
    pins = {};
    mapData.routes.forEach(function (route) {
      route.stops.forEach(function (stop) {
        var title = interpolate(gettext("%(route)s · stop %(position)s · %(name)s"), {route: route.name, position: stop.position, name: stop.name});
        var marker = L.marker([stop.lat, stop.lng], {
          icon: pinIcon(stop, route.colour, String(stop.order) === selected),
          draggable: editable && !route.locked && !stop.reached, title: title, alt: title, autoPan: true
        });
        marker.stop = stop; marker.route = route;
        var text = document.createElement("span");  // text, never markup: names come from customers
        text.textContent = "#" + stop.order + " " + stop.name + " · " + route.name;
        marker.bindTooltip(text, {direction: "top", offset: [0, -10]});
        marker.on("click", function () { select(stop.order, true); });
        marker.on("dragend", function () { pinDropped(marker); });
        marker.addTo(pinLayer);
        var el = marker.getElement();
        if (el) { el.dataset.order = stop.order; el.dataset.route = route.id; el.style.setProperty("--route", route.colour); }
        pins[stop.order] = marker;
      });
    });
    mapData.pool.forEach(function (item) {
      var icon = L.divIcon({className: "board-pool-pin", html: "<span></span>", iconSize: [16, 16]});
      var marker = L.marker([item.lat, item.lng], {icon: icon, draggable: editable, title: interpolate(gettext("Unassigned: %(name)s"), {name: item.name})});
      marker.stop = {order: item.order, position: null};
      marker.route = {id: "pool"};
      var text = document.createElement("span");
      text.textContent = "#" + item.order + " " + item.name + " · " + item.reason;
      marker.bindTooltip(text, {direction: "top"});
      marker.on("dragend", function () { pinDropped(marker); });
      marker.on("click", function () { select(item.order, true); });
      marker.addTo(pinLayer);
      if (marker.getElement()) { marker.getElement().dataset.order = item.order; }
      pins[item.order] = marker;
    });
    depotLayer.clearLayers();
    (mapData.depots || []).forEach(function (depot) {
      L.marker([depot.lat, depot.lng], {
        icon: L.divIcon({className: "board-depot", html: "<span>D</span>", iconSize: [20, 20]}),
        title: interpolate(gettext("Depot: %(name)s"), {name: depot.name}), alt: gettext("Depot"), interactive: false, keyboard: false
      }).addTo(depotLayer);
    });
    document.getElementById("board-map").dataset.pins = String(Object.keys(pins).length);
  }

  // A pin dropped on (near) another route's pin goes right after that stop.
  function pinDropped(marker) {
    var here = map.latLngToContainerPoint(marker.getLatLng());
    var best = null, bestPx = 28;
    Object.keys(pins).forEach(function (id) {
      var other = pins[id];
      if (other === marker || other.route.id === "pool") { return; }
      var px = here.distanceTo(map.latLngToContainerPoint(other.getLatLng()));
      if (px < bestPx) { bestPx = px; best = other; }
    });
    var stop = marker.stop;
    marker.setLatLng(originalLatLng(marker));  // the order's place does not move
    if (!best) { say(gettext("Drop a stop onto another stop on the map to put it right after that one.")); return; }
    var position = best.stop.position + 1;
    if (String(best.route.id) === String(marker.route.id) && stop.position < best.stop.position) { position -= 1; }
    var from = {route: String(marker.route.id), position: stop.position};
    drop(String(stop.order), String(best.route.id), position, from);
  }
  function originalLatLng(marker) {
    var s = marker.stop;
    var all = mapData.routes.reduce(function (a, r) { return a.concat(r.stops); }, []).concat(mapData.pool);
    var found = all.filter(function (x) { return String(x.order) === String(s.order); })[0];
    return found ? [found.lat, found.lng] : marker.getLatLng();
  }

  function drawPaths(only) {
    mapData.routes.forEach(function (route) {
      if (only && only.indexOf(String(route.id)) < 0) { return; }
      if (pathLayers[route.id]) { map.removeLayer(pathLayers[route.id]); delete pathLayers[route.id]; }
      if (!route.stops.length) { return; }
      fetch(board.dataset.geometryUrl.replace("/routes/0/", "/routes/" + route.id + "/"), {credentials: "same-origin"})
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (data) {
          if (!data) { return; }
          if (pathLayers[route.id]) { map.removeLayer(pathLayers[route.id]); }
          var group = L.layerGroup();
          RoadMap.draw(data.legs, {color: route.colour, weight: 4, opacity: 0.7}, "board-path route-" + route.id).addTo(group);
          RoadMap.walks(data.walks, route.colour).addTo(group);
          group.addTo(map);
          pathLayers[route.id] = group;
          RoadMap.attribute(map, data.source && data.source.attribution);
          var el = document.getElementById("board-map");
          el.dataset.paths = String(Object.keys(pathLayers).length);
        });
    });
  }

  function fitDay() {
    var corners = [];
    mapData.routes.forEach(function (r) { corners.push(r.depot); r.stops.forEach(function (s) { corners.push([s.lat, s.lng]); }); });
    mapData.pool.forEach(function (s) { corners.push([s.lat, s.lng]); });
    Object.keys(vans).forEach(function (id) { corners.push(vans[id].getLatLng()); });
    // clear of the tools above and the legend below
    if (corners.length) { map.fitBounds(corners, {maxZoom: 16, paddingTopLeft: [24, 60], paddingBottomRight: [24, 48]}); }
  }
  document.getElementById("board-fit").addEventListener("click", function () { follow(""); fitDay(); });

  // --- drivers, live ------------------------------------------------------------------------
  function routeOfDriver(driver) {
    return mapData.routes.filter(function (r) { return String(r.driver) === String(driver); })[0];
  }
  function place(p) {
    var van = vans[p.driver];
    if (van && van.seq >= p.seq) { return; }
    var route = routeOfDriver(p.driver);
    if (!route && !van) { return; }  // not on this plan
    if (!van) {
      var span = document.createElement("span");
      span.textContent = p.name || interpolate(gettext("Driver %(id)s"), {id: p.driver});
      van = vans[p.driver] = L.marker([p.lat, p.lng], {
        icon: L.divIcon({className: "board-van", html: span.outerHTML, iconSize: null, iconAnchor: [20, 12]}),
        title: p.name, alt: p.name, zIndexOffset: 1000, keyboard: false
      }).addTo(map);
      var el = van.getElement();
      el.dataset.driver = p.driver;
      el.style.setProperty("--route", route ? route.colour : "#0b63ce");
    }
    van.seq = p.seq;
    van.setLatLng([p.lat, p.lng]);
    var vel = van.getElement();
    vel.dataset.lat = p.lat; vel.dataset.lng = p.lng; vel.dataset.seq = p.seq;
    if (String(following) === String(p.driver)) { map.panTo([p.lat, p.lng], {animate: true}); }
  }
  function follow(driver) {
    following = driver ? String(driver) : "";
    document.getElementById("board-follow").value = following;
    markFollowed();
    var van = vans[following];
    if (van) { map.setView(van.getLatLng(), Math.max(map.getZoom(), 15)); }
    else if (following) { say(gettext("Waiting for this driver's first position…")); }
  }
  function markFollowed() {
    document.querySelectorAll(".board-route").forEach(function (section) {
      section.classList.toggle("is-followed", !!following && section.dataset.driver === following);
    });
    document.querySelectorAll("[data-follow-driver]").forEach(function (button) {
      var on = button.dataset.followDriver === following;
      button.textContent = on ? gettext("Following") : gettext("Follow");
      button.setAttribute("aria-pressed", on ? "true" : "false");
    });
  }
  document.getElementById("board-follow").addEventListener("change", function (event) { follow(event.target.value); });
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-follow-driver]");
    if (!button) { return; }
    follow(following === button.dataset.followDriver ? "" : button.dataset.followDriver);
    if (following && window.matchMedia("(max-width: 900px)").matches) { tab("map"); }
  });
  function snapshot() {
    return fetch(board.dataset.positionsUrl, {credentials: "same-origin"})
      .then(function (r) { return r.ok ? r.json() : {positions: []}; })
      .then(function (data) { data.positions.forEach(place); if (following) { follow(following); } });
  }

  var retry = 1000, everConnected = false;
  function connect() {
    var scheme = location.protocol === "https:" ? "wss://" : "ws://";
    var socket = new WebSocket(scheme + location.host + "/ws/dispatch/");
    socket.onopen = function () {
      retry = 1000;
      liveEl.textContent = gettext("Live"); liveEl.className = "status status-delivered";
      snapshot();
      unreadFetch();  // what came while away
      if (everConnected) { refresh(); }  // anything missed while away
      everConnected = true;
    };
    socket.onmessage = function (event) {
      var m = JSON.parse(event.data);
      if (m.type === "positions") { m.positions.forEach(place); }
      else if (m.type === "plan" && Number(m.plan) === planId) {
        heard = Math.max(heard, Number(m.revision));
        if (heard > revision()) { refreshSoon(); }
      } else if (m.type === "stop" && document.getElementById("board-stop-" + m.order)) {
        refreshSoon(true);
      } else if (m.type === "conversation") {
        unreadShow(m.unread);
      }
    };
    socket.onclose = function () {
      liveEl.textContent = gettext("Reconnecting…"); liveEl.className = "status status-failed";
      setTimeout(connect, retry);
      retry = Math.min(retry * 2, 30000);
    };
  }

  // --- the customers' texts nobody has read (counted by notifications, linked to its inbox)
  var unreadLink = document.getElementById("board-unread");
  var unreadCount = document.getElementById("board-unread-count");
  function unreadShow(count) {
    if (!unreadCount || typeof count !== "number") { return; }
    unreadCount.textContent = String(count);
    unreadCount.dataset.unread = String(count);
    unreadCount.style.display = count ? "" : "none";  // a chip's display outranks [hidden]
    unreadCount.classList.toggle("state-late", count > 0);
    unreadLink.setAttribute("aria-label", count ?
      interpolate(ngettext("%(count)s unread text from a customer", "%(count)s unread texts from customers", count), {count: count}) :
      gettext("Customer texts: none unread"));
  }
  function unreadFetch() {
    if (!unreadLink) { return; }
    fetch(unreadLink.dataset.unreadUrl, {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) { if (data) { unreadShow(data.unread); } })
      .catch(function () {});
  }
  unreadFetch();

  window.startBoardMap = function (leafletMap) {
    map = leafletMap;
    map.options.zoomSnap = 0.25;  // the day fills the map, not the nearest whole zoom level
    map.options.zoomDelta = 0.5;
    pinLayer = L.layerGroup().addTo(map);
    depotLayer = L.layerGroup().addTo(map);
    map.invalidateSize();  // the grid gave the map its size after Leaflet measured it
    drawPins();
    fitDay();
    drawPaths(null);
    window.addEventListener("resize", function () { map.invalidateSize(); });
    var el = document.getElementById("board-map");
    map.on("moveend", function () {
      var c = map.getCenter();
      el.dataset.center = c.lat.toFixed(5) + "," + c.lng.toFixed(5);
    });
    connect();
    if (following) { follow(following); }
    if (board.dataset.focus) { select(board.dataset.focus, true); }
  };

  // --- the phone's tabs ---------------------------------------------------------------------
  var shownOnce = !window.matchMedia("(max-width: 900px)").matches;  // a phone's map starts hidden
  function tab(name) {
    board.dataset.tab = name;
    document.querySelectorAll(".board-tabs [data-tab]").forEach(function (b) {
      b.setAttribute("aria-selected", b.dataset.tab === name ? "true" : "false");
    });
    if (name === "map" && map) {  // laid out only now: measure, and fit the day the first time
      setTimeout(function () {
        map.invalidateSize();
        if (!shownOnce) { shownOnce = true; if (following && vans[following]) { follow(following); } else { fitDay(); } }
      }, 0);
    }
  }
  document.querySelectorAll(".board-tabs [data-tab]").forEach(function (b) {
    b.addEventListener("click", function () { tab(b.dataset.tab); });
  });

  // a running day: late and at-risk stops change as the clock moves, so look again each minute
  if (board.dataset.running === "1") {
    setInterval(function () { if (quiet() && document.visibilityState === "visible") { refresh(); } }, 60000);
  }

  setupLists();
  markFollowed();
  window.Board = {refresh: refresh, drop: drop, revision: revision};
}());
