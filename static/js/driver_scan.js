// Parcel scanning in the driver app: the camera reads a label's QR code or barcode (the
// browser's own BarcodeDetector where it has one, else the ZXing library, loaded the
// first time it is needed and kept offline by the service worker), or the driver types
// the code. `DriverScan.open({title, onCode, continuous})`: onCode(code) says what the
// code is ({ok, text, done}); the sheet closes when done, or stays to scan the next one.
(function () {
  "use strict";
  // Django's JavaScript catalog (the driver's language), loaded by base.html first
  var gettext = window.gettext || function (s) { return s; };
  var interpolate = window.interpolate || function (fmt, values) {
    return fmt.replace(/%\((\w+)\)s/g, function (_, name) { return String(values[name]); });
  };
  var dialog = document.getElementById("scan-dialog");
  if (!dialog) { return; }
  var video = document.getElementById("scan-video");
  var camera = document.getElementById("scan-camera");
  var hint = document.getElementById("scan-hint");
  var result = document.getElementById("scan-result");
  var manual = document.getElementById("scan-manual");
  var input = document.getElementById("scan-code");
  var canvas = document.createElement("canvas");
  var stream = null, timer = null, options = null, last = {code: "", at: 0}, session = 0;
  var REPEAT_MS = 2500, EVERY_MS = 200, WIDTH = 480;  // a label fills the view: 480 px reads it, fast
  var zxingLoading = null;

  function loadZxing(url) {
    if (window.ZXing) { return Promise.resolve(window.ZXing); }
    if (!zxingLoading) {
      zxingLoading = new Promise(function (resolve, reject) {
        var script = document.createElement("script");
        script.src = url;
        script.onload = function () { resolve(window.ZXing); };
        script.onerror = reject;
        document.head.appendChild(script);
      });
    }
    return zxingLoading;
  }

  function nativeReader() {
    if (!("BarcodeDetector" in window)) { return Promise.resolve(null); }
    return BarcodeDetector.getSupportedFormats().then(function (formats) {
      if (!formats.length) { return null; }
      var detector = new BarcodeDetector({formats: formats});
      return function () {
        return detector.detect(video).then(function (codes) { return codes.length ? codes[0].rawValue : null; });
      };
    }, function () { return null; });
  }

  function zxingReader(url) {
    return loadZxing(url).then(function (ZXing) {
      var reader = new ZXing.MultiFormatReader();
      var hints = new Map();
      var F = ZXing.BarcodeFormat;
      hints.set(ZXing.DecodeHintType.POSSIBLE_FORMATS, [F.QR_CODE, F.CODE_128, F.EAN_13, F.EAN_8, F.UPC_A, F.UPC_E, F.CODE_39, F.DATA_MATRIX, F.ITF]);
      reader.setHints(hints);
      return function () {
        if (!video.videoWidth) { return Promise.resolve(null); }
        var scale = Math.min(1, WIDTH / video.videoWidth);
        canvas.width = Math.round(video.videoWidth * scale);
        canvas.height = Math.round(video.videoHeight * scale);
        canvas.getContext("2d", {willReadFrequently: true}).drawImage(video, 0, 0, canvas.width, canvas.height);
        try {
          var bitmap = new ZXing.BinaryBitmap(new ZXing.HybridBinarizer(new ZXing.HTMLCanvasElementLuminanceSource(canvas)));
          return Promise.resolve(reader.decodeWithState(bitmap).getText());
        } catch (e) {
          return Promise.resolve(null);  // nothing readable in this frame
        }
      };
    }, function () { return null; });
  }

  function handle(code) {
    code = String(code || "").trim();
    if (!code) { return; }
    var now = Date.now();
    if (code === last.code && now - last.at < REPEAT_MS) {  // the same label still in view
      last.at = now;
      return;
    }
    last = {code: code, at: now};
    var answer = options.onCode(code) || {};
    result.textContent = answer.text || code;
    result.className = "scan-result " + (answer.ok ? "scan-ok" : "scan-warn");
    if (navigator.vibrate) { navigator.vibrate(answer.ok ? 60 : [80, 60, 80]); }
    if (answer.done) { setTimeout(close, 900); }
  }

  function start() {
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      hint.textContent = gettext("This phone cannot use its camera here: type the code on the label.");
      return;
    }
    var mine = ++session;
    navigator.mediaDevices.getUserMedia({video: {facingMode: "environment"}, audio: false}).then(function (media) {
      if (mine !== session || !dialog.open) {  // closed while the camera was starting
        media.getTracks().forEach(function (t) { t.stop(); });
        throw new Error("closed");
      }
      stream = media;
      video.srcObject = media;
      camera.hidden = false;
      return video.play();
    }).then(function () {
      return nativeReader().then(function (read) { return read || zxingReader(options.zxing); });
    }).then(function (read) {
      if (!read) { hint.textContent = gettext("This browser cannot read codes: type the code on the label."); return; }
      dialog.dataset.reading = "1";
      hint.textContent = gettext("Point the camera at the label's QR code or barcode.");
      (function loop() {
        if (!stream || mine !== session) { return; }
        read().then(function (code) {
          if (code) { handle(code); }
          timer = setTimeout(loop, EVERY_MS);
        }, function () { timer = setTimeout(loop, EVERY_MS); });
      }());
    }).catch(function (error) {
      if (mine !== session) { return; }
      camera.hidden = true;
      hint.textContent = interpolate(gettext("No camera (%(error)s): type the code on the label."), {error: error && error.name || gettext("refused")}, true);
    });
  }

  function close() {
    session += 1;
    clearTimeout(timer);
    if (stream) { stream.getTracks().forEach(function (t) { t.stop(); }); }
    stream = null;
    video.srcObject = null;
    delete dialog.dataset.reading;
    if (dialog.open) { dialog.close(); }
  }

  manual.addEventListener("submit", function (event) {
    event.preventDefault();
    last = {code: "", at: 0};  // typed on purpose: checked again
    handle(input.value);
    input.value = "";
  });
  dialog.querySelector("[data-close]").addEventListener("click", close);
  dialog.addEventListener("cancel", close);

  window.DriverScan = {
    open: function (opts) {
      options = opts;
      last = {code: "", at: 0};
      document.getElementById("scan-title").textContent = opts.title || gettext("Scan a parcel");
      result.textContent = ""; result.className = "scan-result";
      camera.hidden = true;
      hint.textContent = gettext("Starting the camera…");
      dialog.showModal();
      start();
    },
    close: close
  };
}());
