/* The sampler page: every scan is written to localStorage before anything else, shown at
   once, and uploaded in batches by a single uploader. A batch gets its Idempotency-Key and
   its exact request body when it is formed, and both are stored with it: a retry after a
   network error, a 429 or a page reload resends the very same bytes under the same key, so
   the server stores each scan once and answers the stored result. */
(function () {
  "use strict";

  var cfg = JSON.parse(document.getElementById("sampler-config").dataset.config);
  var S = cfg.strings;
  var csrf = (document.querySelector("#smp-form [name=csrfmiddlewaretoken]") || {}).value || "";
  var KEEP_SETTLED = 300; // answered scans kept for the list; queued ones are never dropped
  var SHOWN = 120;
  var $ = function (id) { return document.getElementById(id); };

  function fresh() {
    return { seq: 0, scans: [], pending: null, tube: null, poolSize: cfg.poolSize };
  }

  function load() {
    try {
      var raw = window.localStorage.getItem(cfg.storageKey);
      var state = raw ? JSON.parse(raw) : null;
      if (!state || !Array.isArray(state.scans)) return fresh();
      if (!state.pending) {
        // "sending" without a stored batch never reached the network: queue it again
        state.scans.forEach(function (s) { if (s.st === "sending") s.st = "queued"; });
      }
      return state;
    } catch (e) {
      return fresh();
    }
  }

  var state = load();
  var net = { ok: navigator.onLine, note: "", failures: 0 };
  var timer = null;
  var inFlight = false;

  function save() {
    var settled = state.scans.filter(isSettled);
    if (settled.length > KEEP_SETTLED) {
      var drop = {};
      settled.slice(0, settled.length - KEEP_SETTLED).forEach(function (s) { drop[s.id] = 1; });
      state.scans = state.scans.filter(function (s) { return !drop[s.id]; });
    }
    try {
      window.localStorage.setItem(cfg.storageKey, JSON.stringify(state));
      return true;
    } catch (e) {
      flash(S.offline + ": localStorage", "error");
      return false;
    }
  }

  function isSettled(s) {
    return s.st === "accepted" || s.st === "duplicate" || s.st === "rejected";
  }

  function isWaiting(s) {
    return s.st === "queued" || s.st === "sending";
  }

  function fmt(template, values) {
    return template.replace(/%\((\w+)\)s/g, function (_m, k) { return String(values[k]); });
  }

  function newKey() {
    // crypto.randomUUID needs a secure context; sampling points often use plain http on a LAN
    var bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    return "smp-" + Array.prototype.map.call(bytes, function (b) {
      return ("0" + b.toString(16)).slice(-2);
    }).join("");
  }

  /* ---------- scanning ---------- */

  function enqueue(fields) {
    state.seq += 1;
    var scan = {
      id: state.seq,
      barcode: fields.barcode,
      token: fields.token || "",
      action: fields.action,
      at: new Date().toISOString(),
      st: "queued",
      reason: "",
      msg: "",
    };
    if (fields.pool_size) scan.pool_size = fields.pool_size;
    state.scans.push(scan);
    return scan;
  }

  function tubeCount(barcode) {
    return state.scans.filter(function (s) {
      return s.action === "add" && s.barcode === barcode && s.st !== "rejected" && s.st !== "duplicate";
    }).length;
  }

  function openTube(barcode) {
    var size = state.poolSize || cfg.poolSize;
    state.tube = { barcode: barcode, size: size };
    // pool_size only where the campaign allows more than one: other bodies stay as before
    enqueue({ barcode: barcode, action: "open", pool_size: cfg.poolSizes.length > 1 ? size : 0 });
    commit();
    flash(fmt(S.tubeOpen, { barcode: barcode }), "ok");
  }

  function closeTube(full) {
    if (!state.tube) return;
    var barcode = state.tube.barcode;
    enqueue({ barcode: barcode, action: "close" });
    state.tube = null;
    commit();
    flash(full ? S.tubeFull : fmt(S.tubeClosed, { barcode: barcode }), full ? "warn" : "ok");
  }

  function addCode(raw) {
    var token = raw.replace(/^FK1:/i, "");
    if (!/^[A-Za-z0-9_-]{1,32}$/.test(token)) {
      flash(S.tooLong, "error");
      return;
    }
    var again = state.scans.some(function (s) {
      return s.action === "add" && s.token === token && s.st !== "rejected";
    });
    if (again) {
      flash(S.sameCode, "warn");
      return;
    }
    enqueue({ barcode: state.tube.barcode, token: token, action: "add" });
    if (tubeCount(state.tube.barcode) >= state.tube.size) {
      closeTube(true);
      return;
    }
    commit();
    hideFlash();
  }

  function onEntry(raw) {
    var value = (raw || "").trim();
    if (!value) {
      flash(S.empty, "warn");
      return;
    }
    if (state.tube) {
      addCode(value);
    } else if (value.length > 64) {
      flash(S.tooLong, "error");
    } else {
      openTube(value);
    }
  }

  function commit() {
    save();
    render();
    kick(0);
  }

  /* ---------- uploading ---------- */

  function kick(delay) {
    if (timer) window.clearTimeout(timer);
    timer = window.setTimeout(upload, delay);
  }

  function wire(s) {
    var out = { barcode: s.barcode, action: s.action, scanned_at: s.at };
    if (s.token) out.token = s.token;
    if (s.pool_size) out.pool_size = s.pool_size;
    return out;
  }

  function formBatch() {
    var queued = state.scans.filter(function (s) { return s.st === "queued"; }).slice(0, cfg.batchSize);
    if (!queued.length) return null;
    queued.forEach(function (s) { s.st = "sending"; });
    state.pending = {
      key: newKey(),
      ids: queued.map(function (s) { return s.id; }),
      body: JSON.stringify({ point_id: cfg.pointId, scans: queued.map(wire) }),
    };
    // stored before the first byte goes out: a reload mid-request resends the same batch
    return save() ? state.pending : null;
  }

  function upload() {
    timer = null;
    if (inFlight) return;
    if (!navigator.onLine) {
      // no batch is formed offline: the queue goes out in as few batches as it can later
      net.ok = false;
      render();
      return;
    }
    var batch = state.pending || formBatch();
    if (!batch) {
      render();
      return;
    }
    inFlight = true;
    window.fetch(cfg.api, {
      method: "POST",
      credentials: "same-origin",
      headers: {
        "Content-Type": "application/json",
        "Idempotency-Key": batch.key,
        "X-CSRFToken": csrf,
      },
      body: batch.body,
    }).then(function (response) {
      return response.text().then(function (text) { return answered(batch, response, text); });
    }).catch(function () {
      retryLater(S.retrying, false);
    }).then(function () {
      inFlight = false;
      render();
    });
  }

  function answered(batch, response, text) {
    var status = response.status;
    if (status === 200) {
      var body = JSON.parse(text); // a truncated answer throws: retried with the same key
      net = { ok: true, note: "", failures: 0 };
      settle(batch, body.results);
      kick(0);
    } else if (status === 429) {
      net.ok = true;
      var wait = parseInt(response.headers.get("Retry-After"), 10) || 2;
      net.note = fmt(S.busy, { s: wait });
      kick(wait * 1000);
    } else if (status === 401 || status === 403) {
      net = { ok: true, note: S.signIn, failures: net.failures };
      kick(30000);
    } else if (status === 404 || status === 409 || status === 422) {
      // the server will never take this batch as it is: show why, keep going
      var detail = S.rejected;
      try { detail = JSON.parse(text).detail; } catch (e) { /* not JSON */ }
      settle(batch, null, typeof detail === "string" ? detail : S.rejected);
      kick(0);
    } else {
      retryLater(S.retrying, true);
    }
  }

  function retryLater(template, reachable) {
    net.failures += 1;
    net.ok = reachable && navigator.onLine;
    var wait = Math.min(30, Math.pow(2, Math.min(net.failures, 5)));
    net.note = fmt(template, { s: wait });
    kick(wait * 1000);
  }

  function refusesTube(scan) {
    return scan.action === "open" || scan.reason === "tube_full" || scan.reason === "tube_closed" ||
      scan.reason === "wrong_point";
  }

  function settle(batch, results, failure) {
    var byId = {};
    state.scans.forEach(function (s) { byId[s.id] = s; });
    batch.ids.forEach(function (id, i) {
      var scan = byId[id];
      if (!scan) return;
      var r = results ? results[i] : null;
      scan.st = r ? r.status : "rejected";
      scan.reason = r ? r.reason : "";
      scan.msg = r ? r.message : failure;
      if (scan.st === "rejected" && refusesTube(scan) && state.tube && state.tube.barcode === scan.barcode) {
        state.tube = null; // the server will refuse every further code for this tube
        flash(scan.msg, "error");
      }
    });
    state.pending = null;
    save();
  }

  /* ---------- display ---------- */

  function render() {
    renderTube();
    renderNet();
    renderList();
  }

  function renderTube() {
    var tube = state.tube;
    $("smp-idle").hidden = !!tube;
    $("smp-open").hidden = !tube;
    $("smp-close").disabled = !tube;
    $("smp-input-label").textContent = tube ? S.scanCode : S.scanTube;
    if (tube) {
      var x = tubeCount(tube.barcode);
      $("smp-barcode").textContent = tube.barcode;
      $("smp-x").textContent = x;
      $("smp-n").textContent = tube.size;
      $("smp-fill").style.width = Math.min(100, (100 * x) / tube.size) + "%";
    }
    renderSizes();
  }

  function renderSizes() {
    var box = $("smp-sizes");
    box.hidden = cfg.poolSizes.length < 2;
    if (box.hidden || box.dataset.shown === String(state.poolSize)) return;
    box.dataset.shown = String(state.poolSize);
    box.textContent = "";
    cfg.poolSizes.forEach(function (n) {
      var b = document.createElement("button");
      b.type = "button";
      b.className = "smp-size" + (n === state.poolSize ? " on" : "");
      b.setAttribute("aria-pressed", n === state.poolSize ? "true" : "false");
      b.textContent = n + ":1";
      b.addEventListener("click", function () {
        state.poolSize = n;
        save();
        render();
        focusInput();
      });
      box.appendChild(b);
    });
  }

  function renderNet() {
    var waiting = state.scans.filter(isWaiting).length;
    var online = net.ok && navigator.onLine;
    var pill = $("smp-online");
    pill.textContent = online ? S.online : S.offline;
    pill.className = "smp-pill " + (online ? "is-online" : "is-offline");
    var box = $("smp-waiting");
    box.textContent = waiting ? fmt(S.waiting, { n: waiting }) : S.allSent;
    box.dataset.count = String(waiting);
    box.className = "smp-waiting" + (waiting ? " has-waiting" : "");
    box.title = net.note;
    var counts = { accepted: 0, duplicate: 0, rejected: 0 };
    state.scans.forEach(function (s) { if (s.action === "add" && counts[s.st] !== undefined) counts[s.st] += 1; });
    $("smp-counts").textContent =
      S.accepted + " " + counts.accepted + " · " + S.duplicate + " " + counts.duplicate + " · " + S.rejected + " " + counts.rejected;
  }

  function renderList() {
    var list = $("smp-scans");
    var shown = state.scans.slice(-SHOWN).reverse();
    $("smp-empty").hidden = shown.length > 0;
    var frag = document.createDocumentFragment();
    shown.forEach(function (s) { frag.appendChild(row(s)); });
    list.textContent = "";
    list.appendChild(frag);
  }

  function row(s) {
    var li = document.createElement("li");
    li.className = "smp-scan st-" + s.st + " act-" + s.action;
    li.dataset.status = s.st;
    li.dataset.action = s.action;
    li.dataset.reason = s.reason || "";
    var what = document.createElement("div");
    what.className = "smp-scan-what";
    var label = s.action === "add" ? S.added : s.action === "open" ? S.open : S.close;
    var tail = s.token ? " …" + s.token.slice(-6) : "";
    var strong = document.createElement("span");
    strong.className = "smp-scan-kind";
    strong.textContent = label;
    var ident = document.createElement("span");
    ident.className = "mono";
    ident.textContent = s.action === "add" ? tail.trim() + " → " + s.barcode : s.barcode;
    what.appendChild(strong);
    what.appendChild(ident);
    var when = document.createElement("span");
    when.className = "smp-scan-time";
    when.textContent = new Date(s.at).toLocaleTimeString();
    var badge = document.createElement("span");
    badge.className = "smp-badge";
    badge.textContent = S[s.st] || s.st;
    var head = document.createElement("div");
    head.className = "smp-scan-head";
    head.appendChild(what);
    head.appendChild(badge);
    li.appendChild(head);
    var meta = document.createElement("div");
    meta.className = "smp-scan-meta";
    meta.appendChild(when);
    if (s.msg && s.st !== "accepted") {
      var msg = document.createElement("span");
      msg.className = "smp-scan-msg";
      msg.textContent = s.msg;
      meta.appendChild(msg);
    }
    li.appendChild(meta);
    return li;
  }

  function flash(text, kind) {
    var box = $("smp-flash");
    box.textContent = text;
    box.className = "smp-flash is-" + (kind || "ok");
    box.hidden = false;
  }

  function hideFlash() {
    $("smp-flash").hidden = true;
  }

  function focusInput() {
    $("smp-input").focus({ preventScroll: true });
  }

  /* ---------- camera ---------- */

  var camera = { stream: null, stop: true };

  function loadDecoder() {
    if (window.jsQR) return Promise.resolve();
    return new Promise(function (resolve, reject) {
      var s = document.createElement("script");
      s.src = cfg.decoder;
      s.onload = resolve;
      s.onerror = reject;
      document.head.appendChild(s);
    });
  }

  function makeDetector() {
    if ("BarcodeDetector" in window) {
      return window.BarcodeDetector.getSupportedFormats().then(function (formats) {
        var detector = new window.BarcodeDetector({ formats: formats });
        return function (video) {
          return detector.detect(video).then(function (found) { return found.length ? found[0].rawValue : null; });
        };
      });
    }
    return loadDecoder().then(function () {
      var canvas = document.createElement("canvas");
      var ctx = canvas.getContext("2d", { willReadFrequently: true });
      return function (video) {
        var w = video.videoWidth, h = video.videoHeight;
        if (!w || !h) return Promise.resolve(null);
        canvas.width = w;
        canvas.height = h;
        ctx.drawImage(video, 0, 0, w, h);
        var found = window.jsQR(ctx.getImageData(0, 0, w, h).data, w, h, { inversionAttempts: "dontInvert" });
        return Promise.resolve(found ? found.data : null);
      };
    });
  }

  function startCamera() {
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      flash(S.noCamera, "error");
      return;
    }
    var video = $("smp-video");
    camera.stop = false;
    Promise.all([
      makeDetector(),
      navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" }, audio: false }),
    ]).then(function (parts) {
      camera.stream = parts[1];
      video.srcObject = camera.stream;
      $("smp-cam").hidden = false;
      $("smp-cam-hint").textContent = S.cameraHint;
      return video.play().then(function () { scanFrames(parts[0], video); });
    }).catch(function () {
      stopCamera();
      flash(S.noCamera, "error");
    });
  }

  function scanFrames(detect, video) {
    if (camera.stop) return;
    detect(video).then(function (value) {
      if (value) {
        stopCamera();
        onEntry(value);
      } else {
        window.setTimeout(function () { scanFrames(detect, video); }, 120);
      }
    }).catch(function () {
      window.setTimeout(function () { scanFrames(detect, video); }, 250);
    });
  }

  function stopCamera() {
    camera.stop = true;
    if (camera.stream) camera.stream.getTracks().forEach(function (t) { t.stop(); });
    camera.stream = null;
    $("smp-cam").hidden = true;
    focusInput();
  }

  /* ---------- wiring ---------- */

  $("smp-form").addEventListener("submit", function (event) {
    event.preventDefault();
    var input = $("smp-input");
    var value = input.value;
    input.value = "";
    onEntry(value);
    focusInput();
  });
  $("smp-close").addEventListener("click", function () {
    closeTube(false);
    focusInput();
  });
  $("smp-camera").addEventListener("click", startCamera);
  $("smp-cam-stop").addEventListener("click", stopCamera);
  window.addEventListener("online", function () {
    net.ok = true;
    net.failures = 0;
    render();
    kick(0);
  });
  window.addEventListener("offline", function () {
    net.ok = false;
    render();
  });
  // another tab of the same user and point changed the queue: adopt it rather than overwrite
  window.addEventListener("storage", function (event) {
    if (event.key === cfg.storageKey && event.newValue) {
      state = load();
      render();
    }
  });

  // lets the page reload without network (secure contexts only: https or localhost)
  if ("serviceWorker" in navigator && window.isSecureContext && cfg.serviceWorker) {
    navigator.serviceWorker.register(cfg.serviceWorker).then(function () {
      return navigator.serviceWorker.ready;
    }).then(function () {
      // this very page, loaded before the worker ran: cache it now (name as in sampler.sw.js)
      return window.caches.open("fk-sampler-v1").then(function (cache) { return cache.add(location.href); });
    }).then(function () {
      document.body.dataset.offlineReady = "1";
    }).catch(function () { /* optional: without it a reload needs the network */ });
  }

  // a batch left "sending" by a reload goes out again under its stored key
  render();
  kick(0);
  focusInput();
})();
