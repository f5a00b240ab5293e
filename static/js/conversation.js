// The order page's conversation with its customer (templates/notifications/_conversation.html):
// the customer's texts arrive live over the dispatchers' websocket; the page marks them read
// while it is in view; the answer box counts characters and SMS parts as the server does
// (notifications.services.messages.sms_segments) and sends once per key (a double click
// sends one answer: the server is idempotent on the form's key).
(function () {
  "use strict";
  var gettext = window.gettext || function (s) { return s; };
  var ngettext = window.ngettext || function (s, p, n) { return n === 1 ? s : p; };
  var interpolate = window.interpolate || function (fmt, obj) {
    return fmt.replace(/%\((\w+)\)s/g, function (m, name) { return String(obj[name]); });
  };
  var card = document.getElementById("order-conversation");
  if (!card) { return; }
  var orderId = Number(card.dataset.order);
  var thread = document.getElementById("conversation-thread");
  var form = document.getElementById("conversation-form");
  var body = document.getElementById("conversation-body");
  var count = document.getElementById("conversation-count");
  var errors = document.getElementById("conversation-errors");
  var send = document.getElementById("conversation-send");
  var csrf = card.dataset.csrf;

  // --- SMS parts, as the server counts them ---------------------------------------------
  var GSM = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
  var GSM_EXTENDED = "^{}\\[~]|€\f";
  function segments(text) {
    var chars = Array.from(text), units = 0, gsm = true;
    chars.forEach(function (c) {
      if (GSM.indexOf(c) >= 0) { units += 1; } else if (GSM_EXTENDED.indexOf(c) >= 0) { units += 2; } else { gsm = false; }
    });
    if (gsm) { return {parts: units <= 160 ? 1 : Math.ceil(units / 153), encoding: "GSM-7"}; }
    units = text.length;  // UTF-16 code units, as the server counts them
    return {parts: units <= 70 ? 1 : Math.ceil(units / 67), encoding: "UCS-2"};
  }
  function counted() {
    if (!body) { return; }
    var text = body.value.trim(), max = Number(count.dataset.max);
    var n = Array.from(text).length;  // characters, as the server's len() counts them
    if (!n) { count.textContent = interpolate(gettext("Up to %(max)s characters."), {max: max}, true); return; }
    var s = segments(text);
    var said = interpolate(ngettext("%(count)s character", "%(count)s characters", n), {count: n}, true) +
      " · " + interpolate(ngettext("%(parts)s SMS (%(encoding)s)", "%(parts)s SMS (%(encoding)s)", s.parts),
        {parts: s.parts, encoding: s.encoding}, true);
    if (n > max) { said += " · " + interpolate(gettext("%(over)s over the limit"), {over: n - max}, true); }
    count.textContent = said;
  }
  if (body) { body.addEventListener("input", counted); counted(); }

  // --- the thread -----------------------------------------------------------------------
  function field(li, name) { return li.querySelector("[data-field='" + name + "']"); }
  function draw(m) {
    var li = thread.querySelector("[data-message='" + m.id + "']");
    var empty = document.getElementById("conversation-empty");
    if (empty) { empty.remove(); }
    if (!li) {
      var out = m.direction === "out";
      li = document.createElement("li");
      li.className = "conversation-message " + (out ? "is-answer" : "is-customer");
      li.dataset.message = m.id;
      li.style.margin = out ? "0 0 .75rem 15%" : "0 15% .75rem 0";
      if (out) { li.style.textAlign = "right"; }
      var who = document.createElement("div"); who.className = "conversation-who muted";
      var name = document.createElement("span"); name.dataset.field = "who";
      name.textContent = out ? interpolate(gettext("%(name)s answered"), {name: m.sent_by || gettext("a dispatcher")}, true) : gettext("The customer");
      var at = document.createElement("time"); at.dataset.field = "at"; at.setAttribute("datetime", m.at); at.textContent = m.at_text;
      var status = document.createElement("span"); status.dataset.field = "status";
      who.append(name, " · ", at);
      if (out) { who.append(" · ", status); } else { status.hidden = true; who.append(status); }
      var text = document.createElement("div"); text.className = "conversation-body wrap"; text.dataset.field = "body";
      text.style.cssText = "white-space: pre-wrap; display: inline-block; padding: .4rem .6rem; border-radius: .5rem; background: " + (out ? "#e7f0ff" : "#f1f1f1");
      text.textContent = m.body;
      var error = document.createElement("div"); error.className = "muted"; error.dataset.field = "error"; error.hidden = true;
      li.append(who, text, error);
      thread.appendChild(li);
      thread.scrollTop = thread.scrollHeight;
    }
    var st = field(li, "status");
    if (m.direction === "out") { st.className = "status status-" + m.status; st.textContent = m.status_label; }
    var err = field(li, "error");
    err.hidden = !m.error;
    err.textContent = m.error ? interpolate(gettext("Not sent: %(error)s"), {error: m.error}, true) : "";
  }

  // STOP / START just came in: the answer box follows
  function optedOut(stopped) {
    var notice = document.getElementById("conversation-opted-out");
    if (notice) { notice.hidden = !stopped; notice.dataset.optedOut = stopped ? "1" : "0"; }
    if (body) { body.disabled = stopped; send.disabled = stopped; }
  }

  // --- read while in view ---------------------------------------------------------------
  // one request at a time; a text that arrives while one is on its way may have come after
  // the server marked the thread read, so it asks once more when that one is back
  var reading = false, again = false;
  function markRead() {
    if (document.visibilityState !== "visible") { return; }
    if (reading) { again = true; return; }
    reading = true;
    again = false;
    fetch(card.dataset.readUrl, {method: "POST", credentials: "same-origin",
      headers: {"X-CSRFToken": csrf, "Accept": "application/json"}})
      .then(function (r) {
        if (r.ok && !again) {
          var chip = card.querySelector("[data-conversation-unread]");
          if (chip) { chip.remove(); }
          card.dataset.unread = "0";
        }
      })
      .finally(function () {
        reading = false;
        if (again) { markRead(); }
      });
  }
  if (Number(card.dataset.unread) > 0) { markRead(); }
  document.addEventListener("visibilitychange", function () { if (Number(card.dataset.unread) > 0) { markRead(); } });

  // --- answering --------------------------------------------------------------------------
  var sending = false;
  if (form) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      if (sending) { return; }  // the second click of a double click: the first one is on its way
      sending = true; send.disabled = true; errors.textContent = "";
      var data = new FormData(form);
      fetch(card.dataset.answerUrl, {method: "POST", body: data, credentials: "same-origin",
        headers: {"X-CSRFToken": csrf, "Accept": "application/json"}})
        .then(function (r) { return r.json().then(function (d) { return {status: r.status, data: d}; }); })
        .then(function (answer) {
          if (answer.status === 200 || answer.status === 201) {
            draw(answer.data.message);
            body.value = ""; counted();
            document.getElementById("conversation-key").value = answer.data.next_key;
            return;
          }
          var found = (answer.data && answer.data.errors) || {detail: [gettext("The answer was refused.")]};
          Object.keys(found).forEach(function (name) {
            found[name].forEach(function (text) { var li = document.createElement("li"); li.textContent = text; errors.appendChild(li); });
          });
        })
        .catch(function () {
          var li = document.createElement("li");
          li.textContent = gettext("The server could not be reached; try again (it will not be sent twice).");
          errors.appendChild(li);
        })
        .finally(function () { sending = false; send.disabled = body.disabled; });
    });
  }

  // --- live -------------------------------------------------------------------------------
  // texts that came while the socket was away: the thread as it stands
  function catchUp() {
    fetch(card.dataset.threadUrl, {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) {
        if (!data) { return; }
        data.messages.forEach(draw);
        var unread = data.messages.filter(function (m) { return m.direction === "in" && !m.read; }).length;
        card.dataset.unread = String(unread);
        if (unread) { markRead(); }
      })
      .catch(function () {});
  }

  var retry = 1000, everConnected = false;
  function connect() {
    var scheme = location.protocol === "https:" ? "wss://" : "ws://";
    var socket = new WebSocket(scheme + location.host + "/ws/dispatch/");
    socket.onopen = function () {
      retry = 1000; card.dataset.live = "1";
      if (everConnected) { catchUp(); }
      everConnected = true;
    };
    socket.onmessage = function (event) {
      var m = JSON.parse(event.data);
      if (m.type !== "conversation" || Number(m.order) !== orderId || !m.message) { return; }
      draw(m.message);
      if (typeof m.opted_out === "boolean") { optedOut(m.opted_out); }
      if (m.message.direction === "in" && !m.message.read) {
        card.dataset.unread = String(Number(card.dataset.unread || 0) + 1);
        markRead();
      }
    };
    socket.onclose = function () {
      card.dataset.live = "0";
      setTimeout(connect, retry);
      retry = Math.min(retry * 2, 30000);
    };
  }
  connect();
}());
