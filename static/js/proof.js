// The driver's "finish the stop" form (its own page, or the driver app's sheet, which
// keeps it in the outbox): shows the fields for the outcome chosen, and a signature pad
// (pointer events: finger, pen or mouse) whose drawing goes into the form as a PNG data
// URL. The form is sent once: the button is disabled while it is on its way.
(function () {
  "use strict";
  var form = document.getElementById("proof-form");
  if (!form) { return; }
  var pad = document.getElementById("signature-pad");
  var data = document.getElementById("signature-data");
  var ctx = pad.getContext("2d");
  var drawing = false, drawn = false;

  function show() {
    var outcome = form.querySelector("input[name=outcome]:checked").value;
    form.querySelectorAll("[data-for]").forEach(function (el) {
      el.hidden = el.dataset.for !== outcome;
    });
  }
  form.addEventListener("change", show);  // the outcome's radios, or the app setting it
  show();

  function point(event) {
    var box = pad.getBoundingClientRect();
    return [(event.clientX - box.left) * pad.width / box.width, (event.clientY - box.top) * pad.height / box.height];
  }
  ctx.lineWidth = 2.5; ctx.lineCap = "round"; ctx.lineJoin = "round"; ctx.strokeStyle = "#111";
  pad.addEventListener("pointerdown", function (event) {
    drawing = true; pad.setPointerCapture(event.pointerId);
    var p = point(event); ctx.beginPath(); ctx.moveTo(p[0], p[1]);
  });
  pad.addEventListener("pointermove", function (event) {
    if (!drawing) { return; }
    var p = point(event); ctx.lineTo(p[0], p[1]); ctx.stroke(); drawn = true;
  });
  ["pointerup", "pointercancel", "pointerleave"].forEach(function (name) {
    pad.addEventListener(name, function () { drawing = false; });
  });
  form.clearSignature = function () {
    ctx.clearRect(0, 0, pad.width, pad.height); drawn = false; data.value = "";
  };
  document.getElementById("signature-clear").addEventListener("click", form.clearSignature);
  form.addEventListener("submit", function () {
    var outcome = form.querySelector("input[name=outcome]:checked").value;
    data.value = drawn && outcome === "delivered" ? pad.toDataURL("image/png") : "";
    document.getElementById("proof-submit").disabled = true;
  });
}());
