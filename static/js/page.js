// Behaviour the pages share, kept out of inline handlers (the Content-Security-Policy
// allows no inline script without the page's nonce): forms that ask before they act,
// print buttons, and copy buttons.
(function () {
  "use strict";
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
      say(button, copied ? "Copied." : "Selected: press Ctrl+C (\u2318C on a Mac) to copy.");
    }
    if (navigator.clipboard && navigator.clipboard.writeText) {
      navigator.clipboard.writeText(text).then(function () { say(button, "Copied."); }, fallback);
    } else {
      fallback();
    }
  });
}());
