// The Brand page's live preview: the colours and the chosen logo shown at once on the
// tracking page's header, an email and the driver app, with the contrast customers get.
// The text colour on each colour is chosen as the server chooses it
// (tracking/services/brand.py: white or near-black, whichever contrasts more, WCAG 2).
(function () {
  "use strict";
  var gettext = window.gettext || function (s) { return s; };
  var form = document.getElementById("brand-form");
  var preview = document.getElementById("brand-preview");
  if (!form || !preview) { return; }
  var minimum = parseFloat(form.dataset.minContrast);
  var light = form.dataset.textLight, dark = form.dataset.textDark;

  function channel(v) {
    var c = v / 255;
    return c <= 0.04045 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4);
  }
  function luminance(hex) {
    var r = parseInt(hex.slice(1, 3), 16), g = parseInt(hex.slice(3, 5), 16), b = parseInt(hex.slice(5, 7), 16);
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b);
  }
  function contrast(a, b) {
    var x = luminance(a), y = luminance(b);
    return (Math.max(x, y) + 0.05) / (Math.min(x, y) + 0.05);
  }
  function textOn(hex) { return contrast(hex, light) >= contrast(hex, dark) ? light : dark; }

  function update(name, variable) {
    var input = form.elements[name];
    if (!input || !/^#[0-9a-fA-F]{6}$/.test(input.value)) { return; }
    var fg = textOn(input.value), ratio = contrast(input.value, fg);
    preview.style.setProperty("--" + variable, input.value);
    preview.style.setProperty("--" + variable + "-fg", fg);
    var out = document.getElementById(name + "-contrast");
    if (out) {
      out.textContent = interpolateRatio(ratio);
    }
    var warning = document.getElementById(name + "-warning");
    if (warning) { warning.hidden = ratio >= minimum; }
  }
  function interpolateRatio(ratio) {
    var shown = (Math.floor(ratio * 10) / 10).toFixed(1);  // 4.48 is not a passing 4.5
    var fmt = gettext("%(ratio)s:1");
    return window.interpolate ? window.interpolate(fmt, {ratio: shown}, true) : shown + ":1";
  }

  [["brand_colour", "brand"], ["accent_colour", "accent"]].forEach(function (pair) {
    var input = form.elements[pair[0]];
    if (!input) { return; }
    input.addEventListener("input", function () { update(pair[0], pair[1]); });
    update(pair[0], pair[1]);
  });

  // the logo as chosen, before it is sent (the server's cleaned copy replaces it on save)
  var file = form.elements.logo, remove = form.elements.remove_logo, objectUrl = null;
  var current = Array.prototype.map.call(preview.querySelectorAll(".preview-logo"), function (img) {
    return img.getAttribute("src");
  });
  function showLogo(url) {
    preview.querySelectorAll(".preview-logo").forEach(function (img, i) {
      var src = url === undefined ? current[i] : url;
      if (src) { img.src = src; img.hidden = false; } else { img.removeAttribute("src"); img.hidden = true; }
    });
  }
  if (file) {
    file.addEventListener("change", function () {
      if (objectUrl) { URL.revokeObjectURL(objectUrl); objectUrl = null; }
      var chosen = file.files && file.files[0];
      if (chosen && /^image\/(png|jpeg|webp)$/.test(chosen.type)) {
        objectUrl = URL.createObjectURL(chosen);
        showLogo(objectUrl);
        if (remove) { remove.checked = false; }
      } else {
        showLogo(undefined);
      }
    });
  }
  if (remove) {
    remove.addEventListener("change", function () { showLogo(remove.checked ? "" : undefined); });
  }
}());
