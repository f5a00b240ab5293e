// The sign-up pages (templates/tenants/signup*.html), kept out of inline script (the
// Content-Security-Policy allows none without the page's nonce):
// - the address's help text shows the dashboard's host as the name or address is typed;
// - the time zone is the browser's own, and a country typed picks its zone, until the
//   owner chooses one themselves;
// - once the account exists, the page goes on to the new host's one-time sign-in.
(function () {
  "use strict";

  var follow = document.querySelector("a[data-follow]");
  if (follow) {
    window.location.replace(follow.href);
    return;
  }

  var form = document.getElementById("signup-form");
  if (!form) { return; }
  var name = form.querySelector("#id_name");
  var slug = form.querySelector("#id_slug");
  var preview = form.querySelector("[data-host-slug]");
  var zone = form.querySelector("#id_time_zone");
  var country = form.querySelector("#id_country");
  var hintsElement = document.getElementById("zone-hints");
  var hints = hintsElement ? JSON.parse(hintsElement.textContent) : {countries: {}, aliases: {}};

  // "Café Olé Ltd." → "cafe-ole-ltd" (the server checks the address; this only suggests)
  function slugify(text) {
    return text.normalize("NFKD").replace(/[\u0300-\u036f]/g, "").toLowerCase()
      .replace(/[^a-z0-9]+/g, "-").replace(/^[^a-z]+/, "").slice(0, 40).replace(/-+$/, "");
  }

  function showHost() {
    if (preview && slug) {
      preview.textContent = slug.value.trim().toLowerCase() || preview.dataset.placeholder;
    }
  }

  if (name && slug) {
    // The address follows the name until it is typed in itself.
    var slugTyped = slug.value.trim() !== "";
    slug.addEventListener("input", function () {
      slugTyped = slug.value.trim() !== "";
      showHost();
    });
    name.addEventListener("input", function () {
      if (!slugTyped) {
        slug.value = slugify(name.value);
        showHost();
      }
    });
  }
  showHost();

  if (!zone) { return; }

  function offered(value) {
    return Array.prototype.some.call(zone.options, function (option) {
      return option.value === value;
    });
  }

  var browserZone = "";
  try {
    browserZone = Intl.DateTimeFormat().resolvedOptions().timeZone || "";
  } catch (error) {
    browserZone = "";
  }
  browserZone = hints.aliases[browserZone] || browserZone;
  if (!offered(browserZone)) { browserZone = ""; }

  // On a first view the browser knows the zone better than the server's guess; a form
  // shown again with its errors keeps what the owner sent.
  var zoneChosen = !zone.hasAttribute("data-zone-from-browser");
  if (!zoneChosen && browserZone) { zone.value = browserZone; }
  zone.addEventListener("change", function () { zoneChosen = true; });

  function countryOf(value) {
    var found = "";
    Object.keys(hints.countries).forEach(function (code) {
      if (hints.countries[code].indexOf(value) !== -1) { found = code; }
    });
    return found;
  }

  if (country) {
    // and the zone's country is a better guess than the one of the browser's language
    if (!zoneChosen && browserZone && countryOf(browserZone)) {
      country.value = countryOf(browserZone);
    }
    country.addEventListener("input", function () {
      var zones = hints.countries[country.value.trim().toUpperCase()];
      if (zoneChosen || !zones || zones.indexOf(zone.value) !== -1) { return; }
      // a country of several zones (US, AU) has the owner choose, unless one is the browser's
      if (zones.indexOf(browserZone) !== -1) {
        zone.value = browserZone;
      } else {
        zone.value = zones.length === 1 ? zones[0] : "";
      }
    });
  }
}());
