// Behaviour the pages share, kept out of inline handlers (the Content-Security-Policy
// allows no inline script without the page's nonce): forms that ask before they act,
// print buttons, copy buttons, and the top bar's phone menu.
(function () {
  "use strict";
  // Django's JavaScript catalog (base.html loads it first) translates; without it, English.
  var gettext = window.gettext || function (s) { return s; };
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.dataset && form.dataset.confirm && !window.confirm(form.dataset.confirm)) {
      event.preventDefault();
    }
  }, true);
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-print]");
    if (button) { window.print(); }
  });

  // <button data-copy="ID"> copies the text of element ID to the clipboard; where the
  // clipboard API is missing or refused (plain HTTP, no permission), it selects the text
  // for the user to copy. A [data-copy-status] element next to the button says which.
  function selectText(element) {
    var range = document.createRange();
    range.selectNodeContents(element);
    var selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
  }

  function say(button, text) {
    var status = button.parentNode.querySelector("[data-copy-status]");
    if (status) { status.textContent = text; }
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-copy]");
    if (!button) { return; }
    var source = document.getElementById(button.dataset.copy);
    if (!source) { return; }
    var text = source.textContent.trim();
    function fallback() {
      selectText(source);
      var copied = false;
      try { copied = document.execCommand("copy"); } catch (error) { copied = false; }
      say(button, copied ? gettext("Copied.") : gettext("Selected: press Ctrl+C (\u2318C on a Mac) to copy."));
    }
    if (navigator.clipboard && navigator.clipboard.writeText) {
      navigator.clipboard.writeText(text).then(function () { say(button, gettext("Copied.")); }, fallback);
    } else {
      fallback();
    }
  });

  // The top bar's Menu button (phones, base.html) shows and hides the navigation next to
  // it; opened, it also unfolds the account's links, so every page is one tap away.
  // Escape closes it and gives the focus back to the button.
  function setMenu(toggle, open) {
    toggle.setAttribute("aria-expanded", open ? "true" : "false");
    var menu = document.getElementById(toggle.getAttribute("aria-controls"));
    var account = menu && menu.querySelector(".account details");
    if (account && open) { account.open = true; }
  }

  document.addEventListener("click", function (event) {
    var toggle = event.target.closest && event.target.closest(".menu-toggle");
    if (toggle) { setMenu(toggle, toggle.getAttribute("aria-expanded") !== "true"); }
  });
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") { return; }
    var toggle = document.querySelector(".menu-toggle[aria-expanded='true']");
    if (toggle) {
      setMenu(toggle, false);
      toggle.focus();
    }
  });
}());
