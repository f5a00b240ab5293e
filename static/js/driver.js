// The driver app (templates/tracking/driver_route.html): works with or without a network.
//
// Everything the driver does (a stop event, a finished stop with its photo and signature,
// a parcel scan, a setting) and every GPS fix goes into one outbox in IndexedDB, each with
// the phone's own id and time. The outbox is sent in order whenever there is a network:
// fixes over the socket (acknowledged) or in batches over HTTP, the rest over HTTP, where
// the server answers a resend with its first answer (exactly once). A refused item is
// kept as failed and shown, never retried blindly. The page shows the outbox's state as
// if it were already sent; once it is, a newer route version is merged in by reloading,
// and the driver is told what changed.
(function () {
  "use strict";
  // Django's JavaScript catalog (the driver's language), loaded by base.html before this
  // script; English as written if it did not load
  var gettext = window.gettext || function (s) { return s; };
  var ngettext = window.ngettext || function (one, many, n) { return n === 1 ? one : many; };
  var interpolate = window.interpolate || function (fmt, values) {
    return fmt.replace(/%\((\w+)\)s/g, function (_, name) { return String(values[name]); });
  };
  var dataEl = document.getElementById("driver-app-data");
  if (!dataEl || !window.idb) { return; }
  var app = JSON.parse(dataEl.textContent);
  if (!app.driver) { return; }  // an account not linked to a driver: the page says so
  var urls = app.urls;
  var token = null;  // asked for at start (the page the phone keeps holds none)
  var ME = app.schema + "-" + app.driver;
  var SNAPSHOT = "driver-route-before-" + ME;
  var RELOADED = "driver-reloaded-for-" + ME;
  var NAVIGATION = "driver-navigation-" + ME;
  var LOADED = "driver-loaded-" + ME + "-" + (app.route ? app.route.id : "none");
  var MAX_FIXES = 20000, FIX_RUN = 500, ACK_TIMEOUT_MS = 10000, VERSION_EVERY_MS = 20000;
  var SEND_TIMEOUT_MS = 20000, UPLOAD_TIMEOUT_MS = 120000, GIVE_UP_AFTER = 8;
  var statusEl = document.getElementById("connection");
  var syncEl = document.getElementById("sync");
  var outboxEl = document.getElementById("outbox");
  var socket = null, reconnect = null, retry = 1000, stopped = false, lastFixAt = 0;
  var draining = false, drainAgain = false, waitingAck = null, wasOffline = !navigator.onLine, signedOut = false;
  var added = 0, sentSome = false, drawTimer = null;
  // times in the page's language (the driver's); the business's own locale when it is the
  // same language, for its region's clock ("en-GB": 24-hour)
  var language = document.documentElement.lang || app.clock.locale;
  var sameLanguage = language.split("-")[0].toLowerCase() === app.clock.locale.split("-")[0].toLowerCase();
  var clock = new Intl.DateTimeFormat(sameLanguage ? app.clock.locale : language, {hour: "numeric", minute: "2-digit", timeZone: app.clock.zone});
  var RETRY_MS = 2000, retryIn = RETRY_MS, retryTimer = null;

  // --- the outbox: the driver's actions in order ("outbox"), GPS fixes beside them
  // ("fixes": stored once per phone time whatever their order, so they never hold up a
  // finished stop) ----------------------------------------------------------------------
  var db = idb.openDB("driver-app-" + ME, 1, {
    upgrade: function (base) {
      base.createObjectStore("outbox", {keyPath: "seq", autoIncrement: true});
      base.createObjectStore("fixes", {keyPath: "seq", autoIncrement: true});
    }
  });
  function all() { return db.then(function (d) { return d.getAll("outbox"); }); }
  function fixes(n) { return db.then(function (d) { return d.getAll("fixes", null, n); }); }
  function fixCount() { return db.then(function (d) { return d.count("fixes"); }); }
  function remove(seqs, store) {
    return db.then(function (d) {
      var tx = d.transaction(store || "outbox", "readwrite");
      seqs.forEach(function (seq) { tx.store.delete(seq); });
      return tx.done;
    });
  }
  function save(item) { return db.then(function (d) { return d.put("outbox", item); }); }
  function uuid() {
    if (window.crypto && crypto.randomUUID) { return crypto.randomUUID(); }
    var b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 15) | 64; b[8] = (b[8] & 63) | 128;
    var h = Array.prototype.map.call(b, function (x) { return (x + 256).toString(16).slice(1); }).join("");
    return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
  }
  function add(item) {
    item.key = item.key || uuid();
    item.t = item.t || Date.now();
    item.state = "waiting";
    item.tries = 0;
    return save(item).then(function () { refresh(); drain(true); });
  }
  function addFix(fix) {
    return db.then(function (d) { return d.add("fixes", fix); }).then(function () {
      if (++added % 200 === 0) { trimFixes(); }
      if (added % 10 === 1) { refresh(); }
      drain(false);
    });
  }
  function trimFixes() {
    fixCount().then(function (n) {
      if (n <= MAX_FIXES) { return; }
      return db.then(function (d) { return d.getAllKeys("fixes", null, n - MAX_FIXES); })
        .then(function (keys) { return remove(keys, "fixes"); });
    });
  }

  // --- credentials: asked for at start and after being offline ---------------------------
  function csrf() {
    var headers = JSON.parse(document.body.getAttribute("hx-headers") || "{}");
    return headers["X-CSRFToken"] || "";
  }
  function renew() {
    return timed(urls.token, {credentials: "same-origin", redirect: "manual", headers: {"Accept": "application/json"}}, SEND_TIMEOUT_MS)
      .then(function (r) {
        if (r.type === "opaqueredirect" || r.status === 401 || r.status === 403) {
          signedOut = true; token = null; connection(); return false;
        }
        if (!r.ok) { return false; }
        return r.json().then(function (body) {
          if (body.driver !== app.driver) {  // another driver signed in on this phone
            location.reload();
            return false;
          }
          signedOut = false;
          token = body.token;
          document.body.setAttribute("hx-headers", JSON.stringify({"X-CSRFToken": body.csrf}));
          document.querySelectorAll("input[name=csrfmiddlewaretoken]").forEach(function (input) { input.value = body.csrf; });
          return true;
        });
      }, function () { return false; });
  }

  // --- sending ------------------------------------------------------------------------
  function timed(url, options, ms) {
    var abort = new AbortController();
    var timer = setTimeout(function () { abort.abort(); }, ms);
    options.signal = abort.signal;
    return fetch(url, options).then(function (r) { clearTimeout(timer); return r; },
      function (error) { clearTimeout(timer); throw error; });
  }
  function request(item) {
    var form, url;
    if (item.kind === "proof") {
      form = new FormData();
      url = urls.route + "stops/" + item.order + "/complete";
      ["key", "outcome", "recipient_name", "notes", "reason", "signature_data", "t"].forEach(function (name) {
        form.append(name, item[name] == null ? "" : item[name]);
      });
      if (item.photo) { form.append("photo", item.photo, item.photo.name || "photo.jpg"); }
    } else {
      var fields = {
        stop: ["key", "order", "event", "reason", "t"],
        scan: ["key", "code", "stage", "expected", "t"],
        setting: ["navigation_app"]
      }[item.kind];
      url = {stop: urls.stop, scan: urls.scan, setting: urls.settings}[item.kind];
      form = new URLSearchParams();
      fields.forEach(function (name) { form.append(name, item[name] == null ? "" : item[name]); });
    }
    form.append("sent", String(Date.now()));  // the phone's clock now: the server corrects `t` by it
    return timed(url, {
      method: "POST", body: form, credentials: "same-origin", redirect: "manual",
      headers: {"X-CSRFToken": csrf(), "Accept": "application/json"}
    }, item.kind === "proof" ? UPLOAD_TIMEOUT_MS : SEND_TIMEOUT_MS);
  }

  function failed(item, error) {
    item.state = "failed";
    item.error = error;
    return save(item).then(function () {
      if (item.order && (item.kind === "stop" || item.kind === "proof")) { undo(item.order); }
      return true;
    });
  }

  // true: handled (sent, or refused and kept as failed); false: try again later
  function sendOne(item, again) {
    return request(item).then(function (r) {
      if (r.type === "opaqueredirect" || r.status === 403) {  // signed out, or a stale form token
        return again ? false : renew().then(function (ok) { return ok && sendOne(item, true); });
      }
      if (r.status >= 500 || r.status === 429 || r.status === 0) {
        item.tries = (item.tries || 0) + 1;
        if (item.tries >= GIVE_UP_AFTER) { return failed(item, interpolate(gettext("The server could not take it (error %(status)s). Retry later, or call dispatch."), {status: r.status}, true)); }
        return save(item).then(function () { return false; });
      }
      return r.json().catch(function () { return {}; }).then(function (body) {
        if (r.ok) {
          sentSome = true;
          if (body.status && item.order && (item.kind === "stop" || item.kind === "proof")) { showStatus(item.order, body.status); }
          return remove([item.seq]).then(function () { return true; });
        }
        return failed(item, describe(body.errors) || interpolate(gettext("Refused (%(status)s)."), {status: r.status}, true));
      });
    }, function () { return false; });
  }

  function describe(errors) {
    if (!errors) { return ""; }
    return Object.keys(errors).map(function (k) { return [].concat(errors[k]).join(" "); }).join(" ");
  }

  function sendFixes(run) {
    var sent = run.map(function (i) { return i.fix; });
    if (socket && socket.readyState === WebSocket.OPEN) {
      return new Promise(function (resolve) {
        var ids = {};
        run.forEach(function (i) { ids[i.fix.id] = i.seq; });
        var timer = setTimeout(function () {
          waitingAck = null;
          if (socket) { socket.close(); }  // a silent socket: the next try goes over HTTP
          resolve(false);
        }, ACK_TIMEOUT_MS);
        waitingAck = {ids: ids, done: function () { clearTimeout(timer); waitingAck = null; resolve(true); }};
        socket.send(JSON.stringify({type: "fixes", fixes: sent}));
      });
    }
    return timed(urls.pings, {
      method: "POST",
      headers: {"Content-Type": "application/json", "Authorization": "Driver " + token},
      body: JSON.stringify({fixes: sent})
    }, SEND_TIMEOUT_MS).then(function (r) {
      if (r.ok || r.status === 403) {  // stored (or off duty now: never wanted)
        return remove(run.map(function (i) { return i.seq; }), "fixes").then(function () { return true; });
      }
      if (r.status === 401) { return renew().then(function () { return false; }); }
      return false;
    }, function () { return false; });
  }

  function acknowledged(ids) {  // the socket's "ack" and "rejected": both leave the outbox
    if (!waitingAck) { return; }
    var seqs = [];
    ids.forEach(function (id) { if (id in waitingAck.ids) { seqs.push(waitingAck.ids[id]); delete waitingAck.ids[id]; } });
    var finished = Object.keys(waitingAck.ids).length === 0 ? waitingAck.done : null;
    remove(seqs, "fixes").then(function () { if (finished) { finished(); } });
  }

  // Sends what waits: the driver's actions first, in order, then the fixes. One tab at a
  // time (the installed app and a browser tab share the outbox).
  function step() {
    return all().then(function (items) {
      var head = items.filter(function (i) { return i.state === "waiting"; })[0];
      if (head) { return sendOne(head, false).then(function (ok) { refresh(); return ok ? step() : false; }); }
      if (!token) { return true; }  // fixes wait for a token (on duty, signed in)
      return fixes(FIX_RUN).then(function (run) {
        if (!run.length) { return true; }
        return sendFixes(run).then(function (ok) { refresh(); return ok ? step() : false; });
      });
    });
  }
  function drain(now) {
    if (draining) { drainAgain = drainAgain || now; return Promise.resolve(); }  // read again when this run ends
    if (retryTimer && !now) { return Promise.resolve(); }  // a retry is due anyway
    draining = true;
    drainAgain = false;
    sentSome = false;
    var run = navigator.locks  // "elsewhere": another tab (or this page before a reload) is sending
      ? navigator.locks.request("driver-outbox-" + ME, {ifAvailable: true}, function (lock) { return lock ? step() : "elsewhere"; })
      : step();
    return run.then(function (empty) {
      draining = false;
      if (empty === "elsewhere") {  // look again soon: that one may go away before it is done
        later(); refresh();
        return;
      }
      if (empty) {
        clearTimeout(retryTimer); retryTimer = null; retryIn = RETRY_MS;
        if (sentSome) { keepPage(); }
        if (wasOffline) { wasOffline = false; checkVersion(true); }
      } else {
        wasOffline = true;  // no network (whatever navigator.onLine says), or the server is down
        later();
      }
      connection(); refresh();
      // an action kept while this run was past reading the outbox would otherwise wait for
      // the next fix or reconnection
      if (drainAgain && empty) { return drain(true); }  // (a failed run has its retry due)
    }, function () { draining = false; refresh(); later(); });
  }
  // the next try when a send failed: sooner at first, then every half a minute at most
  function later() {
    if (retryTimer) { return; }
    retryTimer = setTimeout(function () { retryTimer = null; drain(true); }, retryIn);
    retryIn = Math.min(retryIn * 2, 30000);
  }
  // the page the phone keeps, with what has just been sent (reopened offline, it is right)
  function keepPage() {
    if (navigator.serviceWorker && navigator.serviceWorker.controller) {
      navigator.serviceWorker.controller.postMessage({type: "refresh"});
    }
  }

  // --- what the page shows ---------------------------------------------------------------
  function stopEl(order) { return document.getElementById("driver-stop-" + order); }
  function stopData(order) { return app.stops.filter(function (s) { return s.order === Number(order); })[0]; }
  function showStatus(order, status, note, error) {
    var li = stopEl(order);
    if (!li) { return; }
    li.dataset.status = status;
    var label = li.querySelector("[data-status-label]");
    var stop = stopData(order);
    var pickup = stop && stop.kind === "pickup";  // a collection: "Picked up", not "Delivered"
    label.textContent = pickup && status === "delivered" ? gettext("Picked up") : app.statuses[status] || status;
    label.className = "status status-" + status;
    var pending = li.querySelector(".pending");
    pending.hidden = !note;
    pending.textContent = note || "";
    pending.classList.toggle("error", !!error);
  }
  // a refused stop goes back to what the server last said of it
  function undo(order) {
    var stop = stopData(order);
    if (stop) { showStatus(order, stop.status); }
  }
  function label(item) {
    var stop = stopData(item.order || item.expected);
    var who = stop ? "#" + stop.seq + " " + stop.name : "";
    var time = clock.format(new Date(item.t));
    var what = {
      stop: {en_route: gettext("On my way"), arrived: gettext("Arrived")}[item.event],
      proof: item.outcome === "delivered" ? delivered(item, stop) : interpolate(gettext("Could not deliver: %(reason)s"), {reason: reasonLabel(item.reason)}, true),
      scan: interpolate(item.stage === "pickup" ? gettext("Loaded %(code)s") : gettext("Checked at the door %(code)s"), {code: item.code}, true),
      setting: gettext("Navigation app")
    }[item.kind];
    return time + " · " + what + (who ? " · " + who : "");
  }

  function delivered(item, stop) {  // "Delivered + photo + signature"
    var parts = [stop && stop.kind === "pickup" ? gettext("Picked up") : gettext("Delivered")];
    if (item.photo) { parts.push(gettext("photo")); }
    if (item.signature_data) { parts.push(gettext("signature")); }
    return parts.join(" + ");
  }
  // a failure reason as the sheet showed it: ours are translated, the business's own kept
  function reasonLabel(reason) {
    var options = document.querySelectorAll("#proof-reason option");
    for (var k = 0; k < options.length; k++) {
      if (options[k].value === reason && reason) { return options[k].textContent; }
    }
    return reason;
  }

  // what waits, on the page: at most every quarter of a second (fixes come every second)
  function refresh() {
    if (drawTimer) { return; }
    drawTimer = setTimeout(function () { drawTimer = null; draw(); }, 250);
  }
  function draw() {
    return Promise.all([all(), fixCount()]).then(function (got) {
      var items = got[0], positions = got[1], waiting = [], refused = [], kept = {};
      items.forEach(function (i) {
        (i.state === "failed" ? refused : waiting).push(i);
        if (i.order && (i.kind === "stop" || i.kind === "proof")) {
          kept[i.order] = true;
          var to = i.kind === "stop" ? i.event : i.outcome;  // the status it leads to
          var stop = stopData(i.order);
          if (i.state === "failed") { showStatus(i.order, stop ? stop.status : to, interpolate(gettext("Not sent: %(error)s"), {error: i.error}, true), true); }
          else if (to) { showStatus(i.order, to, gettext("Waiting to be sent")); }
        }
      });
      // a note left by an earlier drawing whose read of the outbox came before the item was
      // sent (or dismissed): nothing waits for that stop any more
      document.querySelectorAll("li[data-order] .pending:not([hidden])").forEach(function (note) {
        if (!kept[note.closest("li[data-order]").dataset.order]) {
          note.hidden = true; note.textContent = ""; note.classList.remove("error");
        }
      });
      var parts = [];
      if (waiting.length) { parts.push(interpolate(ngettext("%(count)s waiting", "%(count)s waiting", waiting.length), {count: waiting.length}, true)); }
      if (refused.length) { parts.push(interpolate(ngettext("%(count)s failed", "%(count)s failed", refused.length), {count: refused.length}, true)); }
      outboxEl.textContent = parts.length ? "· " + parts.join(" · ") : (positions ? "" : "· " + gettext("all sent"));
      document.body.dataset.waiting = String(waiting.length);
      document.body.dataset.fixes = String(positions);
      document.body.dataset.failed = String(refused.length);
      var badge = document.getElementById("outbox-badge");
      badge.hidden = !(waiting.length + refused.length);
      badge.textContent = String(waiting.length + refused.length);
      badge.classList.toggle("bad", refused.length > 0);
      drawOutbox(waiting, refused, positions);
    });
  }

  function drawOutbox(waiting, refused, positions) {
    var list = document.getElementById("outbox-list");
    var summary = document.getElementById("outbox-summary");
    list.textContent = "";
    var counts = {waiting: waiting.length, failed: refused.length, positions: positions};
    summary.textContent = waiting.length + refused.length || positions
      ? interpolate(positions
        ? ngettext("%(waiting)s waiting, %(failed)s failed, and %(positions)s GPS position. They are sent in order as soon as there is a network.",
          "%(waiting)s waiting, %(failed)s failed, and %(positions)s GPS positions. They are sent in order as soon as there is a network.", positions)
        : gettext("%(waiting)s waiting, %(failed)s failed. They are sent in order as soon as there is a network."), counts, true)
      : gettext("Nothing waiting: everything you did has reached dispatch.");
    refused.concat(waiting).forEach(function (item) {
      var li = document.createElement("li");
      li.className = item.state;
      li.textContent = label(item);
      var why = document.createElement("span");
      why.className = "why";
      li.appendChild(why);
      if (item.state === "failed") {
        why.textContent = interpolate(gettext("Not accepted: %(error)s"), {error: item.error}, true);
        [[gettext("Retry"), function () { item.state = "waiting"; item.tries = 0; save(item).then(function () { refresh(); drain(true); }); }],
         [gettext("Dismiss"), function () { remove([item.seq]).then(function () { undo(item.order); refresh(); }); }]].forEach(function (b) {
          var button = document.createElement("button");
          button.type = "button";
          button.textContent = b[0];
          button.addEventListener("click", b[1]);
          li.appendChild(button);
        });
      } else {
        why.textContent = wasOffline ? gettext("Waiting for a network") : gettext("Sending…");
      }
      list.appendChild(li);
    });
  }

  function setStatus(online, text) {
    statusEl.textContent = text;
    syncEl.className = "sync " + (online ? "online" : "offline");
  }
  function connection() {
    if (signedOut) { setStatus(false, gettext("Sign in to send")); }
    else if (!navigator.onLine || wasOffline) { setStatus(false, gettext("Offline")); }
    else if (!app.on_duty || (socket && socket.readyState === WebSocket.OPEN)) { setStatus(true, gettext("Online")); }
    else { setStatus(false, gettext("Connecting…")); }
  }

  // --- the socket (on duty): live fixes, acknowledged; one at a time --------------------
  function later_connect(ms) {
    if (reconnect || stopped) { return; }
    reconnect = setTimeout(function () { reconnect = null; connect(); }, ms);
  }
  function connect() {
    if (socket || !token || stopped) { connection(); return; }
    var scheme = location.protocol === "https:" ? "wss://" : "ws://";
    var mine = new WebSocket(scheme + location.host + "/ws/driver/?token=" + encodeURIComponent(token));
    socket = mine;
    mine.onopen = function () { retry = 1000; connection(); drain(true); };
    mine.onmessage = function (event) {
      var message = JSON.parse(event.data);
      if (message.type === "ack") { acknowledged(message.ids); }
      else if (message.type === "rejected") { acknowledged(message.fixes.map(function (f) { return f.id; })); }
    };
    mine.onclose = function (event) {
      if (socket !== mine) { return; }  // an older socket's goodbye
      socket = null;
      if (waitingAck) { waitingAck.done(); }  // what was not acknowledged is sent again
      if (event.code === 4403) { stopped = true; setStatus(false, gettext("Off duty")); return; }
      if (event.code === 4401) {  // the token ran out: a new one, unless signed out
        renew().then(function (ok) { if (ok && token) { later_connect(500); } else { connection(); } });
        return;
      }
      connection();
      later_connect(retry); retry = Math.min(retry * 2, 30000);
    };
  }

  function onPosition(position) {
    if (position.timestamp - lastFixAt < 1000) { return; }  // one fix a second is plenty
    lastFixAt = position.timestamp;
    var c = position.coords;
    var fix = {id: uuid(), t: position.timestamp, lat: c.latitude, lng: c.longitude,
               accuracy_m: c.accuracy, speed_mps: c.speed, heading_deg: c.heading};
    document.dispatchEvent(new CustomEvent("driver-fix", {detail: fix}));  // the map
    addFix({fix: fix});
  }

  // --- a new route version: merged once what was kept is sent ---------------------------
  function snapshot() {
    return {version: app.route ? app.route.version : null, id: app.route ? app.route.id : null, offline: false,
            stops: app.stops.map(function (s) {
              var li = stopEl(s.order);  // with what the driver did offline
              return {order: s.order, seq: s.seq, name: s.name, status: li ? li.dataset.status : s.status};
            })};
  }
  function busy() { return !!document.querySelector("dialog[open]") || draining; }
  function checkVersion(afterOffline) {
    if (busy()) { return; }
    timed(urls.version, {credentials: "same-origin", redirect: "manual", headers: {"Accept": "application/json"}}, SEND_TIMEOUT_MS)
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (body) {
        var seen = app.route ? app.route.id + ":" + app.route.version : "none";
        // once per version: a page that came back older (kept by the phone) is not reloaded again
        if (!body || body.version === seen || sessionStorage.getItem(RELOADED) === body.version) { return; }
        return all().then(function (items) {
          if (busy() || items.some(function (i) { return i.state === "waiting"; })) { return; }
          var before = snapshot();
          before.offline = !!afterOffline;
          localStorage.setItem(SNAPSHOT, JSON.stringify(before));
          sessionStorage.setItem(RELOADED, body.version);
          sessionStorage.setItem("driver-tab", document.body.dataset.tab || "stops");
          location.reload();
        });
      }).catch(function () {});
  }
  function showChanges() {
    var before = JSON.parse(localStorage.getItem(SNAPSHOT) || "null");
    localStorage.removeItem(SNAPSHOT);
    if (!before || !app.route || (before.id === app.route.id && before.version === app.route.version)) { return; }
    var now = snapshot(), lines = [];
    var old = {}, fresh = {};
    before.stops.forEach(function (s, k) { old[s.order] = k; });
    now.stops.forEach(function (s, k) { fresh[s.order] = k; });
    var keptOld = before.stops.filter(function (s) { return s.order in fresh; }).map(function (s) { return s.order; });
    var keptNew = now.stops.filter(function (s) { return s.order in old; }).map(function (s) { return s.order; });
    now.stops.forEach(function (s) { if (!(s.order in old)) { lines.push(interpolate(gettext("Added: #%(seq)s %(name)s"), {seq: s.seq, name: s.name}, true)); } });
    before.stops.forEach(function (s) {  // a stop the driver finished leaves the list: no news
      if (!(s.order in fresh) && s.status !== "delivered" && s.status !== "failed") { lines.push(interpolate(gettext("Removed: %(name)s"), {name: s.name}, true)); }
    });
    now.stops.forEach(function (s) {
      if (s.order in old && keptOld.indexOf(s.order) !== keptNew.indexOf(s.order)) { lines.push(interpolate(gettext("Now stop #%(seq)s: %(name)s"), {seq: s.seq, name: s.name}, true)); }
    });
    if (!lines.length) { lines.push(interpolate(gettext("New times (version %(version)s)."), {version: app.route.version}, true)); }
    var box = document.getElementById("offline-changes");
    box.querySelector("h2").textContent = before.offline ? gettext("Your route changed while you were offline") : gettext("Your route changed");
    var list = box.querySelector("ul");
    lines.forEach(function (line) { var li = document.createElement("li"); li.textContent = line; list.appendChild(li); });
    box.hidden = false;
    var banner = document.getElementById("route-changes");
    if (banner) { banner.hidden = true; }  // the same news, said once
  }

  // --- the stop list ---------------------------------------------------------------------
  function open(li, scroll) {
    document.querySelectorAll(".stop.open").forEach(function (other) {
      if (other !== li) { other.classList.remove("open"); other.querySelector(".stop-head").setAttribute("aria-expanded", "false"); }
    });
    li.classList.add("open");
    li.querySelector(".stop-head").setAttribute("aria-expanded", "true");
    if (scroll) { li.scrollIntoView({block: "start", behavior: "smooth"}); }
  }
  document.querySelectorAll(".stop-head").forEach(function (head) {
    head.addEventListener("click", function () {
      var li = head.closest(".stop");
      if (li.classList.contains("open")) { li.classList.remove("open"); head.setAttribute("aria-expanded", "false"); }
      else { open(li, false); }
    });
  });
  document.querySelectorAll("[data-event]").forEach(function (button) {
    button.addEventListener("click", function () {
      var order = Number(button.dataset.order);
      add({kind: "stop", order: order, event: button.dataset.event, reason: ""});
      showStatus(order, button.dataset.event, gettext("Waiting to be sent"));
    });
  });
  document.addEventListener("driver-open-stop", function (event) {  // a tap on the map
    tab("stops");
    var li = stopEl(event.detail.order);
    if (li) { open(li, true); }
  });

  // --- navigation hand-off ----------------------------------------------------------------
  function navigation() { return localStorage.getItem(NAVIGATION) || app.navigation; }
  function links() {
    var pattern = app.navigation_urls[navigation()] || app.navigation_urls.google;
    document.querySelectorAll(".nav-link").forEach(function (a) {
      a.href = pattern.replace("{lat}", a.dataset.lat).replace("{lng}", a.dataset.lng);
    });
  }
  var navSelect = document.getElementById("navigation-app");
  if (navSelect) {
    navSelect.value = navigation();
    navSelect.addEventListener("change", function () {
      localStorage.setItem(NAVIGATION, navSelect.value);
      links();
      add({kind: "setting", navigation_app: navSelect.value});
    });
  }

  // --- finishing a stop: the proof sheet ---------------------------------------------------
  var sheet = document.getElementById("complete-dialog");
  var proofForm = document.getElementById("proof-form");
  var finishing = null;
  // our label's code (the first) is read in any case, as the server reads it; a store's
  // own codes exactly as imported
  function codesMatch(stop, code) {
    var read = code.trim();
    return stop.codes.some(function (c, k) { return k === 0 ? c.toUpperCase() === read.toUpperCase() : c === read; });
  }
  function whose(code) { return app.stops.filter(function (s) { return codesMatch(s, code); })[0]; }

  if (sheet && proofForm) {
    document.querySelectorAll("[data-complete]").forEach(function (link) {
      link.addEventListener("click", function (event) {
        event.preventDefault();
        finishing = stopData(link.dataset.order);
        proofForm.reset();
        if (proofForm.clearSignature) { proofForm.clearSignature(); }
        proofForm.querySelector("input[name=outcome][value=" + link.dataset.complete + "]").checked = true;
        proofForm.dispatchEvent(new Event("change"));
        document.getElementById("complete-title").textContent = interpolate(finishing.kind === "pickup" ? gettext("Pick up · #%(seq)s %(name)s") : "#%(seq)s %(name)s", {seq: finishing.seq, name: finishing.name}, true);
        var pickup = finishing.kind === "pickup";
        proofForm.querySelectorAll("input[name=outcome]").forEach(function (input) {
          input.parentNode.lastChild.textContent = input.value === "delivered" ? (pickup ? gettext("Picked up") : gettext("Delivered")) : (pickup ? gettext("Could not collect") : gettext("Could not deliver"));
        });
        document.getElementById("complete-where").textContent = finishing.address;
        document.getElementById("complete-errors").hidden = true;
        var result = document.getElementById("door-scan-result");
        result.textContent = ""; result.className = "";
        document.getElementById("proof-submit").disabled = false;
        sheet.showModal();
      });
    });
    sheet.querySelector("[data-close]").addEventListener("click", function () { sheet.close(); });
    document.getElementById("door-scan").addEventListener("click", function () {
      var stop = finishing;
      var result = document.getElementById("door-scan-result");
      DriverScan.open({
        title: interpolate(gettext("Scan the parcel for #%(seq)s %(name)s"), {seq: stop.seq, name: stop.name}, true),
        zxing: urls.zxing,
        onCode: function (code) {
          var owner = whose(code), ok = codesMatch(stop, code), text;
          add({kind: "scan", code: code, stage: "door", expected: stop.order});
          if (ok) { text = interpolate(gettext("✓ The right parcel: %(code)s"), {code: code}, true); }
          else if (owner) { text = interpolate(gettext("⚠ Wrong parcel: %(code)s is for #%(seq)s %(name)s, not this stop."), {code: code, seq: owner.seq, name: owner.name}, true); }
          else { text = interpolate(gettext("⚠ Not a parcel of your route: %(code)s. Check the label."), {code: code}, true); }
          result.textContent = text;
          result.className = ok ? "scan-ok" : "scan-warn";
          return {ok: ok, text: text, done: ok};
        }
      });
    });
    proofForm.addEventListener("submit", function (event) {
      event.preventDefault();
      var data = new FormData(proofForm);
      var outcome = data.get("outcome");
      var photo = data.get("photo");
      if (photo && !photo.size) { photo = null; }
      var problems = [];
      var need = proofForm.dataset;
      if (outcome === "delivered") {
        if (need.requirePhoto && !photo) { problems.push(gettext("A photo of the delivery is required.")); }
        if (need.requireSignature && !data.get("signature_data")) { problems.push(gettext("The recipient's signature is required.")); }
        if (need.requireName && !String(data.get("recipient_name") || "").trim()) { problems.push(gettext("The recipient's name is required.")); }
      } else {
        if (!data.get("reason")) { problems.push(gettext("Say why the delivery could not be made.")); }
        if (need.requireFailurePhoto && !photo) { problems.push(gettext("A photo of the place is required.")); }
      }
      var errors = document.getElementById("complete-errors");
      if (problems.length) {
        errors.textContent = problems.join(" ");
        errors.hidden = false;
        document.getElementById("proof-submit").disabled = false;
        return;
      }
      add({
        kind: "proof", order: finishing.order, outcome: outcome,
        recipient_name: data.get("recipient_name") || "", notes: data.get("notes") || "",
        reason: outcome === "failed" ? data.get("reason") || "" : "",
        signature_data: outcome === "delivered" ? data.get("signature_data") || "" : "",
        photo: photo
      });
      showStatus(finishing.order, outcome, gettext("Waiting to be sent"));
      sheet.close();
      stopEl(finishing.order).querySelector(".stop-head").focus();  // the button pressed is gone
    });
  }

  // --- loading the van: pickup scans ---------------------------------------------------------
  var loaded = JSON.parse(localStorage.getItem(LOADED) || "null") ||
    app.stops.filter(function (s) { return s.loaded; }).map(function (s) { return s.order; });
  // the parcels that leave with the van: a pickup-and-delivery pair's parcel is collected
  // on the road (at its pickup stop), not loaded here
  var fromDepot = app.stops.filter(function (s) { return s.kind !== "pickup" && !s.collect; });
  function loadedCount() {
    return fromDepot.filter(function (s) { return loaded.indexOf(s.order) >= 0; }).length;
  }
  function drawLoaded() {
    var count = document.getElementById("loaded-count");
    if (!count) { return; }
    var list = document.getElementById("loaded-list");
    // English says "parcels" whatever the count ("0 of 1 parcels loaded"); other languages
    // may not
    count.textContent = interpolate(ngettext("%(loaded)s of %(total)s parcels loaded", "%(loaded)s of %(total)s parcels loaded", fromDepot.length),
      {loaded: loadedCount(), total: fromDepot.length}, true);
    list.textContent = "";
    fromDepot.forEach(function (s) {
      var li = document.createElement("li");
      var isIn = loaded.indexOf(s.order) >= 0;
      li.className = isIn ? "in" : "";
      li.textContent = (isIn ? "✓ " : "○ ") + "#" + s.seq + " " + s.name + " · " + s.codes[0];
      list.appendChild(li);
    });
  }
  var pickup = document.getElementById("pickup-scan");
  if (pickup) {
    pickup.addEventListener("click", function () {
      var result = document.getElementById("pickup-result");
      DriverScan.open({
        title: gettext("Load the van"), continuous: true, zxing: urls.zxing,
        onCode: function (code) {
          var owner = whose(code), text;
          var onTheRoad = owner && fromDepot.indexOf(owner) < 0;
          if (!owner || (!onTheRoad && loaded.indexOf(owner.order) < 0)) { add({kind: "scan", code: code, stage: "pickup"}); }
          var who = owner ? {seq: owner.seq, name: owner.name, code: code} : {code: code};
          if (!owner) { text = interpolate(gettext("⚠ Not a parcel of your route: %(code)s. Leave it for dispatch."), who, true); }
          else if (onTheRoad) { text = interpolate(gettext("⚠ #%(seq)s %(name)s is collected on the road, not loaded here. Leave it for dispatch."), who, true); }
          else if (loaded.indexOf(owner.order) >= 0) { text = interpolate(gettext("Already loaded: #%(seq)s %(name)s"), who, true); }
          else {
            loaded.push(owner.order);
            localStorage.setItem(LOADED, JSON.stringify(loaded));
            who.loaded = loadedCount(); who.total = fromDepot.length;
            text = interpolate(gettext("✓ Loaded #%(seq)s %(name)s (%(loaded)s of %(total)s)"), who, true);
          }
          drawLoaded();
          result.textContent = text;
          result.className = "scan-result " + (owner && !onTheRoad ? "scan-ok" : "scan-warn");
          return {ok: !!owner && !onTheRoad, text: text, done: false};
        }
      });
    });
  }

  // --- tabs ----------------------------------------------------------------------------
  function tab(name) {
    document.querySelectorAll(".tabbar [role=tab]").forEach(function (b) {
      var on = b.dataset.tab === name;
      b.setAttribute("aria-selected", on ? "true" : "false");
      b.tabIndex = on ? 0 : -1;
      var panel = document.getElementById("tab-" + b.dataset.tab);
      if (panel) { panel.hidden = !on; }
    });
    document.body.dataset.tab = name;
    if (name === "map") { document.dispatchEvent(new CustomEvent("driver-map-shown")); }
    window.scrollTo(0, 0);
  }
  document.querySelectorAll("[data-tab]").forEach(function (b) {
    b.addEventListener("click", function () { tab(b.dataset.tab); });
  });
  var tabs = Array.prototype.slice.call(document.querySelectorAll(".tabbar [role=tab]"));
  tabs.forEach(function (b, k) {  // arrow keys move along the tabs, as in any tab list
    b.addEventListener("keydown", function (event) {
      var step = {ArrowRight: 1, ArrowLeft: -1}[event.key];
      if (!step) { return; }
      var next = tabs[(k + step + tabs.length) % tabs.length];
      next.focus();
      tab(next.dataset.tab);
    });
  });
  var dismiss = document.querySelector("#offline-changes [data-dismiss]");
  if (dismiss) { dismiss.addEventListener("click", function () { document.getElementById("offline-changes").hidden = true; }); }

  // --- signing out: nothing of this driver is left on the phone -------------------------
  var signOut = document.getElementById("sign-out");
  if (signOut) {
    signOut.addEventListener("submit", function (event) {
      event.preventDefault();
      all().then(function (items) {
        var n = items.length + Number(document.body.dataset.fixes || 0);
        if (n && !confirm(interpolate(ngettext("%(count)s things are not sent yet: they are lost if you sign out now. Sign out anyway?",
          "%(count)s things are not sent yet: they are lost if you sign out now. Sign out anyway?", n), {count: n}, true))) { return; }
        if (navigator.serviceWorker && navigator.serviceWorker.controller) { navigator.serviceWorker.controller.postMessage({type: "forget"}); }
        localStorage.removeItem(LOADED);
        localStorage.removeItem(NAVIGATION);
        var gone = db.then(function (d) {
          d.close();
          return new Promise(function (resolve) {
            var request = indexedDB.deleteDatabase("driver-app-" + ME);
            request.onsuccess = request.onerror = request.onblocked = resolve;
          });
        });
        // the server's answer clears the site's storage too (Clear-Site-Data)
        Promise.race([gone, new Promise(function (resolve) { setTimeout(resolve, 1500); })]).then(function () { signOut.submit(); });
      });
    });
  }

  // --- installable: the service worker keeps the app --------------------------------------
  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register(urls.sw, {scope: urls.route}).then(function () {
      return navigator.serviceWorker.ready;
    }).then(function (registration) {
      var mine = performance.getEntriesByType("resource").map(function (e) { return e.name; })
        .filter(function (url) { return url.indexOf(location.origin + "/static/") === 0; });
      (registration.active || navigator.serviceWorker.controller).postMessage({type: "keep", urls: mine});
      document.body.dataset.serviceWorker = "ready";
    }).catch(function (error) { document.body.dataset.serviceWorker = "failed: " + error; });
  }
  if (navigator.storage && navigator.storage.persist) { navigator.storage.persist(); }  // the outbox is not a cache

  function start() {  // credentials, then the socket and the outbox
    return renew().then(function () { stopped = false; connect(); drain(true); });
  }
  window.addEventListener("online", function () { wasOffline = true; connection(); start(); });
  window.addEventListener("offline", function () { wasOffline = true; connection(); refresh(); });
  document.getElementById("outbox-send").addEventListener("click", function () { start(); });
  setInterval(function () {
    if (document.hidden) { return; }
    if (!token && app.on_duty) { start(); } else { drain(true); }
    checkVersion(false);
  }, VERSION_EVERY_MS);

  links();
  drawLoaded();
  showChanges();
  tab(sessionStorage.getItem("driver-tab") || "stops");
  sessionStorage.removeItem("driver-tab");
  var first = document.querySelector(".stop[data-status=dispatched], .stop[data-status=en_route], .stop[data-status=arrived]");
  draw().then(function () {
    var next = document.querySelector(".stop[data-status=dispatched], .stop[data-status=en_route], .stop[data-status=arrived]") || first;
    if (next) { open(next, false); }
  });
  // fixes an earlier version of the app kept in localStorage: into the outbox
  var earlier = [];
  try { earlier = JSON.parse(localStorage.getItem("dispatch-driver-outbox") || "[]"); } catch (e) { earlier = []; }
  localStorage.removeItem("dispatch-driver-outbox");
  earlier.forEach(function (fix) { addFix({fix: fix}); });
  connection();
  start();
  if (app.on_duty && "geolocation" in navigator) {
    navigator.geolocation.watchPosition(onPosition, function (error) {
      statusEl.title = interpolate(gettext("Location unavailable: %(error)s"), {error: error.message}, true);
    }, {enableHighAccuracy: true, maximumAge: 0, timeout: 30000});
  }
}());
