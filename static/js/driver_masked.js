// The driver app's "Call customer" and "Text customer" through the business's pool of
// numbers (notifications/templatetags/masked_calls.py draws the links): a tap asks the
// server for the stop's pool number (POST /driver/stops/<order>/masked), then opens the
// phone's dialler or messages on that number, so neither side sees the other's number.
// A refusal (no phone on file, no free number, the stop finished) is shown under the links.
(function () {
  "use strict";
  var gettext = window.gettext || function (s) { return s; };
  var TIMEOUT_MS = 15000;

  function csrf() {
    var headers = JSON.parse(document.body.getAttribute("hx-headers") || "{}");
    if (headers["X-CSRFToken"]) { return headers["X-CSRFToken"]; }
    var input = document.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  function show(link, message) {
    var box = link.parentElement.querySelector(".masked-error");
    if (!box) { return; }
    box.textContent = message;
    box.hidden = !message;
  }

  // Opening the dialler is one call, so that a test (or a wrapper app) can watch it.
  var api = window.driverMasked = window.driverMasked || {};
  api.open = api.open || function (url) { window.location.href = url; };

  document.addEventListener("click", function (event) {
    var link = event.target.closest("a[data-masked]");
    if (!link) { return; }
    event.preventDefault();
    if (link.getAttribute("aria-busy") === "true") { return; }  // a double tap: one request
    link.setAttribute("aria-busy", "true");
    show(link, "");
    var controller = new AbortController();
    var timer = setTimeout(function () { controller.abort(); }, TIMEOUT_MS);
    fetch(link.dataset.url, {
      method: "POST",
      credentials: "same-origin",
      headers: {"X-CSRFToken": csrf(), "Accept": "application/json"},
      signal: controller.signal,
    }).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (body) {
        if (r.ok && body.number) {
          var url = (link.dataset.masked === "text" ? "sms:" : "tel:") + body.number;
          link.href = url;  // where it leads now (a long press shows the pool number)
          link.dataset.dialed = url;
          api.open(url);
          return;
        }
        show(link, body.message || (body.errors && body.errors.stop && body.errors.stop[0]) ||
          gettext("The call could not be set up. Try again, or call dispatch."));
      });
    }, function () {
      show(link, gettext("No network: the call could not be set up. Try again when you have signal."));
    }).then(function () {
      clearTimeout(timer);
      link.removeAttribute("aria-busy");
    });
  });
})();
