// Eventwall projector wall: layouts that move, a wall that never freezes, a screen that
// never burns in. Resume, the DOM bound and the status dot are eventwall.js's job.
(function () {
  "use strict";
  var body = document.body;
  var posts = document.getElementById("posts");
  if (!body || !posts) return;

  // What the layout does is declared by the page (wall/layouts/): one post at a time that
  // cycles (data-cycles), or many placed by wall-layout.js (data-engine).
  function cycling() { return body.dataset.cycles === "1"; }
  function relayout() { if (window.EventwallLayout) window.EventwallLayout.schedule(); }
  var cycleMs = seconds(body.dataset.cycle, 8) * 1000;
  var idleMs = seconds(body.dataset.idle, 20) * 1000;
  var CURSOR_IDLE_MS = 3000;
  var SHIFT_EVERY_MS = 60000;
  var PRELOAD_TIMEOUT_MS = 8000;
  var MAX_FACES = 16;
  var NEW_FACES = 3;
  var MAX_SEEN = 5000;
  // One mutation adding more posts than this is a full re-render, not arrivals.
  var RESET_BATCH = 3;

  function seconds(raw, fallback) {
    var n = parseInt(raw || "", 10);
    return n > 0 ? n : fallback;
  }

  // Branding: CSSOM is allowed by the CSP where an inline style attribute is not.
  if (/^#[0-9a-fA-F]{6}$/.test(body.dataset.accent || "")) {
    body.style.setProperty("--accent", body.dataset.accent);
  }

  function articles() {
    return Array.prototype.slice.call(posts.querySelectorAll(":scope > article.post"));
  }

  var seen = new Set();
  var people = new Set();
  articles().forEach(function (a) { seen.add(a.id); people.add(author(a)); });
  document.querySelectorAll("#faces .face").forEach(function (f) {
    people.add((f.dataset.handle || "").toLowerCase());
  });

  function author(article) { return (article.dataset.author || "").toLowerCase(); }

  function remember(id) {
    seen.add(id);
    if (seen.size > MAX_SEEN) seen.delete(seen.values().next().value);
  }

  // Lazy images inside hidden posts would never load; load them all, they are few (bounded).
  function eager(article) {
    article.querySelectorAll("img[loading=lazy]").forEach(function (img) { img.loading = "eager"; });
  }

  // Resolves once every image of the post is decoded (or failed, or took too long).
  function preload(article) {
    var waits = Array.prototype.map.call(article.querySelectorAll("img"), function (img) {
      if (img.complete && img.naturalWidth) return Promise.resolve();
      var probe = new Image();
      probe.src = img.currentSrc || img.src;
      return probe.decode().catch(function () {});
    });
    var timeout = new Promise(function (resolve) { setTimeout(resolve, PRELOAD_TIMEOUT_MS); });
    return Promise.race([Promise.all(waits), timeout]);
  }

  // -- spotlight and ticker: one post at a time --------------------------------------
  var current = null;
  var shownAt = Date.now();

  function show(article) {
    if (!article) return;
    shownAt = Date.now();
    preload(article).then(function () {
      if (!article.isConnected) return;
      if (current && current !== article) current.classList.remove("is-spotlit");
      current = article;
      article.classList.add("is-spotlit");
      fitPhoto(article);
      body.dataset.spotlit = article.id;
    });
  }

  // Spotlight: the photo at its own aspect, as large as the post allows (beside the words on a
  // landscape screen, above them on a portrait one, as wall.css lays them out).
  function fitPhoto(article) {
    var img = article.querySelector(".photo img");
    if (!img) return;
    img.style.removeProperty("width");
    img.style.removeProperty("height");
    if (body.dataset.fitPhoto !== "1") return;
    var w = img.naturalWidth || parseInt(img.getAttribute("width") || "0", 10);
    var h = img.naturalHeight || parseInt(img.getAttribute("height") || "0", 10);
    if (!w || !h) return;
    var em = parseFloat(getComputedStyle(article).fontSize);
    var maxW = article.clientWidth * 0.62;
    var maxH = article.clientHeight;
    if (window.matchMedia("(max-aspect-ratio: 4/5)").matches) {
      maxW = article.clientWidth;
      maxH = article.clientHeight - 2.4 * em;
      Array.prototype.forEach.call(article.children, function (el) {
        if (!el.classList.contains("photo")) maxH -= el.getBoundingClientRect().height;
      });
    }
    var scale = Math.min(maxW / w, maxH / h);
    img.style.width = (w * scale).toFixed(1) + "px";
    img.style.height = (h * scale).toFixed(1) + "px";
  }
  window.addEventListener("resize", function () { if (current) fitPhoto(current); });

  function advance() {
    var list = articles().filter(function (a) { return !a.classList.contains("arriving"); });
    if (!list.length) return;
    var at = current ? list.indexOf(current) : -1;
    show(list[(at + 1) % list.length]);
  }

  // -- grid: older posts resurface when the room goes quiet ---------------------------
  var lastArrival = Date.now();
  var lastResurface = 0;

  function resurface() {
    var list = articles().filter(function (a) { return !a.classList.contains("pinned"); });
    if (list.length < 2) return;
    var older = list[list.length - 1];
    var first = list[0];
    articles().forEach(function (a) { a.classList.remove("resurfaced"); });
    older.classList.add("resurfaced");
    posts.insertBefore(older, first);
    body.dataset.resurfaced = older.id;
    relayout();
  }

  // -- faces and stats ----------------------------------------------------------------
  function addFace(article) {
    var faces = document.getElementById("faces");
    if (!faces) return;
    var handle = article.dataset.author || "";
    var nameEl = article.querySelector(".display-name");
    var name = nameEl ? nameEl.textContent : handle;
    faces.querySelectorAll(".face").forEach(function (f) {
      if ((f.dataset.handle || "").toLowerCase() === handle.toLowerCase()) f.remove();
    });
    var face = document.createElement("li");
    face.className = "face";
    face.dataset.handle = handle;
    face.title = name;
    var avatar = article.querySelector(".avatar");
    if (avatar) {
      var img = document.createElement("img");
      img.src = avatar.currentSrc || avatar.src;
      img.alt = name;
      face.appendChild(img);
    } else {
      var initials = document.createElement("span");
      initials.className = "initials";
      initials.textContent = name.replace(/@/g, " ").trim().split(/\s+/).slice(0, 2)
        .map(function (w) { return w.charAt(0); }).join("").toUpperCase() || "?";
      face.appendChild(initials);
    }
    faces.insertBefore(face, faces.firstChild);
    var all = faces.querySelectorAll(".face");
    all.forEach(function (f, i) {
      f.classList.toggle("new", i < NEW_FACES);
      if (i >= MAX_FACES) f.remove();
    });
  }

  function bumpStats(article) {
    var stats = document.getElementById("stats");
    if (!stats) return;
    var handle = author(article);
    var isNewPerson = handle && !people.has(handle);
    if (isNewPerson) people.add(handle);
    var add = { posts: 1, people: isNewPerson ? 1 : 0, photos: article.querySelectorAll(".photo").length };
    Object.keys(add).forEach(function (key) {
      var value = parseInt(stats.dataset[key] || "0", 10) + add[key];
      stats.dataset[key] = String(value);
      var el = stats.querySelector(".stat-" + key);
      if (el) el.textContent = String(value);
    });
  }

  // -- arrivals, edits and removals, however htmx swapped them in ----------------------
  function arrived(article) {
    remember(article.id);
    lastArrival = Date.now();
    article.classList.add("arriving");
    eager(article);
    preload(article).then(function () {
      article.classList.remove("arriving");
      if (!article.isConnected) return;
      addFace(article);
      bumpStats(article);
      if (cycling()) show(article);
      else relayout();
    });
  }

  new MutationObserver(function (records) {
    records.forEach(function (record) {
      var added = Array.prototype.filter.call(record.addedNodes, function (n) {
        return n.nodeType === 1 && n.matches("article.post");
      });
      var reset = added.length > RESET_BATCH;
      added.forEach(function (article) {
        if (seen.has(article.id) || reset) {
          remember(article.id);
          eager(article);
          if (current && !current.isConnected && current.id === article.id) {
            current = article; // an edit replaced the post in the spotlight
            article.classList.add("is-spotlit");
          }
        } else {
          arrived(article);
        }
      });
    });
    if (current && !current.isConnected) {
      current = null; // hidden or deleted: it leaves the screen now, the next one shows
      if (cycling()) advance();
    }
  }).observe(posts, { childList: true });

  // -- named screens: a moderator's scene, followed live -------------------------------------
  function swapClass(prefix, value) {
    Array.prototype.slice.call(body.classList).forEach(function (c) {
      if (c.indexOf(prefix) === 0) body.classList.remove(c);
    });
    body.classList.add(prefix + value);
  }

  // Empty values give the wall back its own choice (the event's, or its URL's).
  function applyScene(scene) {
    if ((scene.screen || "main") !== (body.dataset.screen || "main")) return;
    var layout = scene.layout || body.dataset.ownLayout || "grid";
    var theme = scene.theme || body.dataset.ownTheme || "dark";
    var cycle = seconds(String(scene.cycle || ""), 0) || seconds(body.dataset.ownCycle, 8);
    var was = body.dataset.layout;
    var known = document.querySelector('#layouts > li[data-name="' + CSS.escape(layout) + '"]');
    if (!known) { // a layout this page does not know: keep the one it shows
      layout = was;
      known = document.querySelector('#layouts > li[data-name="' + CSS.escape(was) + '"]');
    }
    swapClass("layout-", layout);
    swapClass("theme-", theme);
    body.dataset.layout = layout;
    // The layout's behaviour, as the page declares it for each (wall/layouts/).
    ["engine", "cycles", "fitPhoto"].forEach(function (key) {
      if (known && known.dataset[key]) body.dataset[key] = known.dataset[key];
      else delete body.dataset[key];
    });
    body.dataset.theme = theme;
    body.dataset.cycle = String(cycle);
    cycleMs = cycle * 1000;
    var holding = scene.holding || "";
    var slide = document.getElementById("holding");
    var text = document.getElementById("holding-text");
    if (text) text.textContent = holding;
    if (slide) slide.hidden = !holding;
    body.classList.toggle("holding", !!holding);
    if (was !== layout) {
      if (current) {
        var leaving = current;
        current = null;
        leaving.classList.remove("is-spotlit");
        fitPhoto(leaving); // back to the layout's own photo size
      }
      relayout();
      if (cycling()) show(articles()[0]);
    }
    body.dataset.sceneAt = String(Date.now());
  }

  new MutationObserver(function (records) {
    records.forEach(function (record) {
      Array.prototype.forEach.call(record.addedNodes, function (node) {
        if (node.nodeType !== 1 || !node.classList.contains("scene-change")) return;
        applyScene(node.dataset);
        node.remove(); // read once; the DOM stays bounded
      });
    });
  }).observe(body, { childList: true });

  // On every (re)connect, the scene as it is now: the log replays what was missed, but not
  // what was trimmed off it while the wall was away.
  document.addEventListener("htmx:wsOpen", function () {
    if (!body.dataset.slug || !window.fetch) return;
    fetch("/e/" + body.dataset.slug + "/screens/" + (body.dataset.screen || "main"), {
      credentials: "same-origin", headers: { accept: "application/json" },
    }).then(function (response) {
      return response.ok ? response.json() : null;
    }).then(function (scene) {
      if (scene) applyScene(scene);
    }).catch(function () {});
  });

  // "This wall shows this screen", every few seconds: the console counts the walls per screen.
  var HEARTBEAT_MS = 10000;
  var wallId = Date.now().toString(36) + Math.random().toString(36).slice(2, 12);
  function heartbeat() {
    if (!body.dataset.slug || !window.fetch) return;
    var data = new FormData();
    data.set("wall", wallId.replace(/[^a-z0-9]/g, ""));
    fetch("/e/" + body.dataset.slug + "/screens/" + (body.dataset.screen || "main") + "/seen", {
      method: "POST", body: data, credentials: "same-origin",
    }).catch(function () {});
  }
  heartbeat();
  setInterval(heartbeat, HEARTBEAT_MS);

  // -- the sponsor strip: one logo at a time, cross-faded ---------------------------------
  var SPONSOR_MS = 6000;
  var sponsors = document.querySelectorAll("#sponsors .sponsor");
  var sponsorAt = 0;
  if (sponsors.length > 1) {
    setInterval(function () {
      sponsors[sponsorAt].classList.remove("on");
      sponsorAt = (sponsorAt + 1) % sponsors.length;
      sponsors[sponsorAt].classList.add("on");
    }, SPONSOR_MS);
  }

  // -- the clock -------------------------------------------------------------------------
  setInterval(function () {
    var now = Date.now();
    if (!cycling()) {
      if (now - lastArrival >= idleMs && now - lastResurface >= idleMs) {
        lastResurface = now;
        resurface();
      }
    } else if (now - shownAt >= cycleMs) {
      advance();
    }
  }, 250);

  // Against burn-in: the static parts wander within a fraction of a percent of the screen,
  // a pixel a minute, as a TV's pixel shift does. A step of one pixel is invisible without a
  // transition, and no transition means no frames to paint: a 20 s eased move kept a
  // software-rendered wall repainting a third of the time.
  var SHIFT_RANGE_VMIN = 0.35;
  var shiftAt = null;
  function shift() {
    var range = Math.max(1, Math.floor(SHIFT_RANGE_VMIN / 100 * Math.min(innerWidth, innerHeight)));
    function step(v) {
      var next = v + Math.round(Math.random() * 2 - 1);
      return Math.max(-range, Math.min(range, next));
    }
    shiftAt = shiftAt ? [step(shiftAt[0]), step(shiftAt[1])]
      : [Math.round((Math.random() * 2 - 1) * range), Math.round((Math.random() * 2 - 1) * range)];
    body.style.setProperty("--shift-x", shiftAt[0] + "px");
    body.style.setProperty("--shift-y", shiftAt[1] + "px");
  }
  shift();
  setInterval(shift, SHIFT_EVERY_MS);

  // The cursor hides when the mouse rests.
  var cursorTimer = 0;
  function wake() {
    body.classList.remove("cursor-idle");
    clearTimeout(cursorTimer);
    cursorTimer = setTimeout(function () { body.classList.add("cursor-idle"); }, CURSOR_IDLE_MS);
  }
  ["mousemove", "mousedown", "touchstart"].forEach(function (name) {
    document.addEventListener(name, wake, { passive: true });
  });
  wake();

  // `f` toggles fullscreen.
  document.addEventListener("keydown", function (evt) {
    if (evt.key !== "f" && evt.key !== "F") return;
    if (evt.ctrlKey || evt.metaKey || evt.altKey) return;
    if (document.fullscreenElement) {
      document.exitFullscreen().catch(function () {});
    } else if (document.documentElement.requestFullscreen) {
      document.documentElement.requestFullscreen().catch(function () {});
    }
  });

  articles().forEach(eager);
  if (cycling()) show(articles()[0]);
  body.dataset.wallReady = "1";
})();
