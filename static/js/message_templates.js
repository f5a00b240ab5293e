// The message templates on Settings → Customer messages: a placeholder chip inserts its
// "{name}" where the cursor is in its field, then tells the field it changed so that the
// live preview (htmx, on "input") follows.
(function () {
  "use strict";
  var gettext = window.gettext || function (s) { return s; };
  var interpolate = window.interpolate || function (fmt, obj) {
    return fmt.replace(/%\((\w+)\)s/g, function (_m, name) { return String(obj[name]); });
  };

  document.addEventListener("click", function (event) {
    var chip = event.target.closest && event.target.closest("[data-insert-placeholder]");
    if (!chip) { return; }
    var field = document.getElementById(chip.dataset.target);
    if (!field) { return; }
    var text = "{" + chip.dataset.insertPlaceholder + "}";
    var start = field.selectionStart == null ? field.value.length : field.selectionStart;
    var end = field.selectionEnd == null ? start : field.selectionEnd;
    field.value = field.value.slice(0, start) + text + field.value.slice(end);
    var caret = start + text.length;
    field.focus();
    field.setSelectionRange(caret, caret);
    field.dispatchEvent(new Event("input", { bubbles: true }));
    var status = chip.parentNode.querySelector("[data-chip-status]");
    if (status) {
      status.textContent = interpolate(gettext("%(placeholder)s inserted."),
        { placeholder: text }, true);
    }
  });

  // The save's errors describe the text as it was sent; once the owner edits it, the live
  // preview (which says what is wrong now) takes over.
  document.addEventListener("input", function (event) {
    var field = event.target;
    if (!field.matches || !field.matches("textarea[data-template]")) { return; }
    var box = field.closest(".message-template");
    var stale = box && box.querySelector(".field-errors");
    if (stale) { stale.remove(); }
  });

  // Screen readers hear what a chip did (one polite region per chip group).
  document.querySelectorAll(".placeholder-chips").forEach(function (group) {
    var status = document.createElement("span");
    status.className = "visually-hidden";
    status.setAttribute("data-chip-status", "");
    status.setAttribute("aria-live", "polite");
    group.appendChild(status);
  });
})();
