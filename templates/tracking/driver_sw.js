// The driver app's service worker (served by tracking.views.driver.service_worker_view,
// scope /driver/). It keeps the app's files and the last route page, so the app opens
// from the home screen and works without a network; and the map tiles already seen. The
// JavaScript catalog of the driver's language is one of the app's files: the worker's text
// (and so its cache) changes with the language, and a driver who changes language gets a new
// worker keeping the new catalog.
// What the driver does offline is not here: static/js/driver.js keeps it in IndexedDB.
"use strict";
const CONFIG = {{ config|safe }};
const SHELL = "driver-shell-" + CONFIG.schema + "-" + CONFIG.language + "-" + CONFIG.version;
const PAGES = "driver-pages-" + CONFIG.schema;
const TILES = "driver-tiles";
const MAX_TILES = 1500;
const PAGE_TIMEOUT_MS = 4000;

self.addEventListener("install", (event) => {
  event.waitUntil((async () => {
    const shell = await caches.open(SHELL);
    await shell.addAll(CONFIG.shell);
    await keepPage();
    await self.skipWaiting();
  })());
});

self.addEventListener("activate", (event) => {
  event.waitUntil(self.clients.claim());
});

// The route page as it is now (signed in: the cookie goes with it). Once the page of
// this version is kept, the files of older versions go; until then the page kept last
// still opens offline with the files it names.
async function keepPage() {
  try {
    const page = await fetch(CONFIG.app, {credentials: "same-origin", redirect: "manual"});
    if (page.ok && page.type !== "opaqueredirect") {
      await (await caches.open(PAGES)).put(CONFIG.app, page);
      await dropOldShells();
    }
  } catch (e) { /* offline: the page is kept at its next visit */ }
}

async function dropOldShells() {
  for (const name of await caches.keys()) {
    if (name.startsWith("driver-shell-" + CONFIG.schema + "-") && name !== SHELL) { await caches.delete(name); }
  }
}

// The page tells what it loaded (its scripts, styles, the map's library) and what its
// driver signed out of.
self.addEventListener("message", (event) => {
  const data = event.data || {};
  if (data.type === "keep" && Array.isArray(data.urls)) {
    event.waitUntil(caches.open(SHELL).then((cache) => Promise.all(data.urls.map((url) =>
      cache.match(url).then((hit) => hit || cache.add(url).catch(() => null))))));
  } else if (data.type === "refresh") {  // the outbox was sent: keep the page as it is now
    event.waitUntil(keepPage());
  } else if (data.type === "forget") {
    event.waitUntil(caches.delete(PAGES));
  }
});

function timeout(ms) {
  return new Promise((_, reject) => setTimeout(() => reject(new Error("timeout")), ms));
}

// The app's pages: the network first (a fresh route), the page kept last when there is
// none or it is slow; a slow answer is still kept when it comes.
async function page(event) {
  const request = event.request;
  const cache = await caches.open(PAGES);
  const key = new URL(request.url);
  key.search = "";  // ?source=home-screen is the same page
  const network = fetch(request).then(async (response) => {
    if (response.ok && !response.redirected && key.pathname === CONFIG.app) {
      await cache.put(key.href, response.clone());
      await dropOldShells();
    }
    return response;
  });
  event.waitUntil(network.catch(() => null));
  try {
    const response = await Promise.race([network, timeout(PAGE_TIMEOUT_MS)]);
    if (response.status < 500) { return response; }
    return (await cache.match(key.href)) || response;  // the server is down: the kept page
  } catch (e) {
    const kept = await cache.match(key.href);
    if (kept) { return kept; }
    const text = CONFIG.offline;
    return new Response(
      "<!doctype html><html lang='" + escapeHtml(CONFIG.language) + "'><meta name=viewport content='width=device-width'>" +
      "<title>" + escapeHtml(text.title) + "</title><body style='font:18px system-ui;padding:24px'><h1>" +
      escapeHtml(text.heading) + "</h1><p>" + escapeHtml(text.text) + "</p>",
      {status: 503, headers: {"Content-Type": "text/html; charset=utf-8"}});
  }
}

function escapeHtml(value) {
  return String(value).replace(/[&<>"']/g, (c) => "&#" + c.charCodeAt(0) + ";");
}

// Files: what was kept, else the network (and keep it).
async function file(request) {
  const cache = await caches.open(SHELL);
  const kept = await cache.match(request, {ignoreSearch: true});
  if (kept) { return kept; }
  const response = await fetch(request);
  if (response.ok) { await cache.put(request, response.clone()); }
  return response;
}

// Tiles: the ones already seen come from the phone; the others from the tile server,
// kept for next time (the oldest dropped past MAX_TILES).
async function tile(request) {
  const cache = await caches.open(TILES);
  const kept = await cache.match(request);
  if (kept) { return kept; }
  const response = await fetch(request);
  if (response.ok || response.type === "opaque") {  // Leaflet asks without CORS: opaque
    try {
      await cache.put(request, response.clone());
      const keys = await cache.keys();
      for (const old of keys.slice(0, Math.max(0, keys.length - MAX_TILES))) { await cache.delete(old); }
    } catch (e) { /* storage full: the tile shows, unkept */ }
  }
  return response;
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") { return; }  // the outbox's posts go to the network as they are
  const url = new URL(request.url);
  if (url.origin === self.location.origin) {
    if (request.mode === "navigate" && url.pathname.startsWith(CONFIG.app)) {
      event.respondWith(page(event));
    } else if (url.pathname.startsWith(CONFIG.static) || url.pathname === CONFIG.catalog) {
      event.respondWith(file(request));
    }
  } else if (CONFIG.tiles && (url.hostname === CONFIG.tiles || url.hostname.endsWith("." + CONFIG.tiles))) {
    event.respondWith(tile(request));
  }
});
