/* Service worker of the sampler page (served at /masstesting/sampler/sw.js, so its scope is
   the sampler page; the server prepends `const ASSETS = [...]`, the page's static files).
   It lets a phone that lost its network reload the page: navigations and the page's own
   static files go to the network first and fall back to the last copy cached. Nothing else
   is touched: uploads (POST) and every other request pass straight through. The scans
   themselves never live here; they are in localStorage, queued by sampler.js. */
/* global ASSETS */
"use strict";

var CACHE = "fk-sampler-v1";

self.addEventListener("install", function (event) {
  event.waitUntil(
    caches.open(CACHE).then(function (cache) { return cache.addAll(ASSETS); }).then(function () {
      return self.skipWaiting();
    })
  );
});

self.addEventListener("activate", function (event) {
  event.waitUntil(self.clients.claim());
});

function networkFirst(request) {
  return fetch(request).then(function (response) {
    // a redirect (to the sign-in page, say) or an error page is not the page to keep
    if (response.ok && !response.redirected && response.type === "basic") {
      var copy = response.clone();
      caches.open(CACHE).then(function (cache) { cache.put(request, copy); });
    }
    return response;
  }).catch(function () {
    // ignoreVary: Django varies on Cookie and Accept-Language, which a reload may not repeat
    return caches.match(request, { ignoreVary: true }).then(function (cached) {
      return cached || Response.error();
    });
  });
}

self.addEventListener("fetch", function (event) {
  var request = event.request;
  if (request.method !== "GET") return;
  var url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  var scope = new URL(self.registration.scope).pathname;
  if ((request.mode === "navigate" && url.pathname.indexOf(scope) === 0) || ASSETS.indexOf(url.pathname) >= 0) {
    event.respondWith(networkFirst(request));
  }
});
