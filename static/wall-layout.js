// Eventwall wall layouts that place their posts themselves, so a screen of any shape is filled:
// grid (columns of cards, as many columns as the posts fill best) and mosaic (justified rows of
// photos edge to edge). Each reads the posts in the page (text length, photo aspect), decides
// what fits and parks the rest: a post is shown whole or not at all. The join card sits in the
// stream's bottom-right corner and posts flow around it.
(function () {
  "use strict";
  var body = document.body;
  var posts = document.getElementById("posts");
  if (!body || !posts) return;

  var FADE_MS = 1600;
  var STYLE = ["top", "left", "width", "height", "--lines"];

  function articles() {
    return Array.prototype.slice.call(posts.querySelectorAll(":scope > article.post"));
  }

  function px(n) { return n.toFixed(2) + "px"; }

  // The post a moderator pinned shows above the stream; it is not shown twice.
  function pinnedDomId() {
    var pinned = document.querySelector("#spotlight:not([hidden]) article");
    return pinned ? pinned.dataset.domId || "" : "";
  }

  function candidates() {
    var pinned = pinnedDomId();
    return articles().filter(function (a) {
      var dup = a.id === pinned;
      a.classList.toggle("is-pinned", dup);
      return !dup && !a.classList.contains("arriving");
    });
  }

  function place(a, x, y, w, h) {
    if (!a.classList.contains("placed")) {
      // First appearance: no slide in from the corner, a slow fade instead.
      a.classList.add("fresh", "appear");
      setTimeout(function () { a.classList.remove("appear"); }, FADE_MS);
    }
    a.style.left = px(x);
    a.style.top = px(y);
    a.style.width = px(w);
    a.style.height = px(h);
    a.classList.add("placed");
  }

  function setBox(a, box) {
    a.style.left = box[0];
    a.style.top = box[1];
    a.style.width = box[2];
    a.style.height = box[3];
  }

  function park(a) {
    a.classList.remove("placed", "stretched", "appear");
  }

  function clear() {
    articles().forEach(function (a) {
      STYLE.forEach(function (p) { a.style.removeProperty(p); });
      a.classList.remove("placed", "stretched", "fresh", "appear", "is-pinned");
      delete a.dataset.size;
    });
    body.style.removeProperty("--panel-w");
  }

  function panelBox() {
    var panel = document.querySelector(".join");
    if (!panel || getComputedStyle(panel).display === "none") return { width: 0, height: 0 };
    var r = panel.getBoundingClientRect();
    return { width: r.width, height: r.height };
  }

  // -- grid: columns; the count that the posts fill best, then each column justified ---------
  // The column count a wall of this width has now: it changes only when another fills clearly
  // more, so a post arriving doesn't slide and resize every card on the wall.
  var gridColumns = { width: 0, n: 0 };

  function arrangeGrid(list, W, H, unit) {
    var gap = 0.55 * unit;
    var minCol = 13 * unit;
    var maxCol = 22 * unit;
    var nMin = Math.max(1, Math.ceil((W + gap) / (maxCol + gap)));
    var nMax = Math.max(nMin, Math.floor((W + gap) / (minCol + gap)));
    var best = null;
    var bestScore = 0;
    var current = gridColumns.width === W ? gridColumns.n : 0;
    for (var n = nMin; n <= nMax; n++) {
      var plan = planGrid(list, n, W, H, gap);
      var score = plan.score + (n === current ? 0.04 : 0);
      // Fewer, wider columns unless more columns fill clearly more of the screen.
      if (!best || score > bestScore + 0.03) { best = plan; bestScore = score; }
    }
    if (!best) return;
    gridColumns = { width: W, n: best.n };
    if (best.n !== nMax) planGrid(list, best.n, W, H, gap); // restore its widths
    var placed = new Set();
    best.cols.forEach(function (col) {
      stretch(col);
      var y = 0;
      col.items.forEach(function (item) {
        item.a.classList.toggle("stretched", item.grow > 0.5 && item.photo);
        place(item.a, col.x, y, best.colW, item.h + item.grow);
        placed.add(item.a);
        y += item.h + item.grow + gap;
      });
    });
    list.forEach(function (a) { if (!placed.has(a)) park(a); });
  }

  function planGrid(list, n, W, H, gap) {
    var colW = (W - gap * (n - 1)) / n;
    body.style.setProperty("--panel-w", px(colW));
    list.forEach(function (a) {
      a.classList.remove("stretched");
      a.style.width = px(colW);
      a.style.removeProperty("height");
    });
    var panel = panelBox();
    var heights = list.map(function (a) { return a.getBoundingClientRect().height; });
    var cols = [];
    for (var i = 0; i < n; i++) {
      var limit = i === n - 1 && panel.height ? H - panel.height - gap : H;
      cols.push({ x: i * (colW + gap), y: 0, limit: limit, items: [], gap: gap });
    }
    var area = 0;
    list.forEach(function (a, k) {
      var h = heights[k];
      var target = null;
      cols.forEach(function (c) {
        if (c.y + h <= c.limit + 0.5 && (!target || c.y < target.y)) target = c;
      });
      if (!target) return;
      target.items.push({ a: a, h: h, grow: 0, photo: a.classList.contains("has-photo") });
      target.y += h + gap;
      area += h * colW;
    });
    return { n: n, colW: colW, cols: cols, score: area / (W * H) };
  }

  // The room left at a column's foot goes to its photos first (they crop well), then to all.
  function stretch(col) {
    if (!col.items.length) return;
    var used = col.items.reduce(function (s, it) { return s + it.h; }, 0) + col.gap * (col.items.length - 1);
    var left = Math.max(0, col.limit - used);
    var photos = col.items.filter(function (it) { return it.photo; });
    photos.forEach(function (it) {
      var extra = Math.min(left / photos.length, it.h * 1.2);
      it.grow += extra;
    });
    left -= photos.reduce(function (s, it) { return s + it.grow; }, 0);
    col.items.forEach(function (it) {
      var extra = Math.min(Math.max(0, left) / col.items.length, it.h);
      it.grow += extra;
    });
  }

  // -- mosaic: justified rows, photos at their own aspect, text as typographic tiles ----------
  function aspect(a) {
    // A photo behind a content warning stays hidden: its post is a text tile.
    var img = a.classList.contains("warned") ? null : a.querySelector(".photo img");
    if (img) {
      var w = img.naturalWidth || parseInt(img.getAttribute("width") || "0", 10);
      var h = img.naturalHeight || parseInt(img.getAttribute("height") || "0", 10);
      return w && h ? Math.min(Math.max(w / h, 0.55), 2.4) : 1.5;
    }
    var text = a.querySelector(".post-text");
    var len = text ? text.textContent.trim().length : 0;
    a.dataset.size = len < 50 ? "short" : len < 140 ? "medium" : "long";
    return len < 50 ? 1.15 : len < 140 ? 1.5 : 1.9;
  }

  function arrangeMosaic(list, W, H, unit) {
    var gap = 0.3 * unit;
    body.style.setProperty("--panel-w", px(15 * unit));
    var panel = panelBox();
    var tiles = list.map(function (a) { return { a: a, r: aspect(a) }; });
    var best = null;
    for (var rows = 2; rows <= 8; rows++) {
      var target = (H - gap * (rows - 1)) / rows;
      if (target < 7 * unit && best) break;
      var plan = planMosaic(tiles, rows, target, W, H, gap, panel);
      // Rows about 11em tall read best from the back of a room: big enough, and several.
      plan.cost += 0.3 * Math.abs(Math.log(target / (11 * unit)));
      if (!best || plan.cost < best.cost) best = plan;
    }
    if (!best) return;
    var placed = new Set();
    var y = 0;
    best.rows.forEach(function (row) {
      var x = 0;
      var h = row.h * best.factor;
      row.items.forEach(function (t) {
        var w = t.r * row.h;
        place(t.a, x, y, w, h);
        placed.add(t.a);
        x += w + gap;
      });
      y += h + gap;
    });
    list.forEach(function (a) { if (!placed.has(a)) park(a); });
    // Text tiles get as many lines as their height holds, never a half line.
    placed.forEach(function (a) {
      var text = a.querySelector(".post-text");
      if (!text || (a.classList.contains("has-photo") && !a.classList.contains("warned"))) return;
      var style = getComputedStyle(a);
      var lineH = parseFloat(getComputedStyle(text).lineHeight) || 20;
      var room = a.clientHeight - parseFloat(style.paddingTop) - parseFloat(style.paddingBottom);
      Array.prototype.forEach.call(a.children, function (el) {
        if (el === text || getComputedStyle(el).display === "none") return;
        var s = getComputedStyle(el);
        room -= el.getBoundingClientRect().height + parseFloat(s.marginTop) + parseFloat(s.marginBottom);
      });
      a.style.setProperty("--lines", String(Math.max(1, Math.floor(room / lineH - 0.05))));
    });
  }

  function planMosaic(tiles, rows, target, W, H, gap, panel) {
    var plan = [];
    var k = 0;
    for (var r = 0; r < rows && k < tiles.length; r++) {
      var width = r === rows - 1 && panel.width ? W - panel.width - gap : W;
      var row = [];
      var sum = 0;
      while (k < tiles.length) {
        row.push(tiles[k]);
        sum += tiles[k].r;
        k++;
        if (sum * target + gap * (row.length - 1) >= width) break;
      }
      // The row closes where its height comes nearest the target: with or without its last tile.
      if (row.length > 1) {
        var without = (width - gap * (row.length - 2)) / (sum - row[row.length - 1].r);
        var withIt = (width - gap * (row.length - 1)) / sum;
        if (Math.abs(Math.log(without / target)) < Math.abs(Math.log(withIt / target))) {
          sum -= row.pop().r;
          k--;
        }
      }
      plan.push({ items: row, h: (width - gap * (row.length - 1)) / sum });
    }
    var heights = plan.reduce(function (s, row) { return s + row.h; }, 0);
    var room = H - gap * (plan.length - 1);
    // Rows grow or shrink together to fill the height exactly; photos crop a little for it.
    // Never taller than the screen: a row cut at the bottom edge is a clipped post.
    var factor = Math.min(room / heights, 1.3);
    var cost = Math.abs(Math.log(room / heights));
    var last = plan[plan.length - 1];
    if (last && panel.height && last.h * factor < panel.height) cost += 1;
    if (plan.length < rows) cost += 1;
    return { rows: plan, factor: factor, cost: cost };
  }

  var ENGINES = { grid: arrangeGrid, mosaic: arrangeMosaic };
  var engineOn = "";

  function arrange() {
    var name = body.dataset.engine || "";
    var engine = ENGINES[name];
    if (engineOn && engineOn !== name) clear();
    engineOn = engine ? name : "";
    var box = posts.getBoundingClientRect();
    if (!engine || !box.width || !box.height) {
      delete body.dataset.layoutPending;
      return;
    }
    var unit = parseFloat(getComputedStyle(posts).fontSize) || 16;
    // Measure at the sizes being tried, not at a size halfway through a transition.
    var from = new Map();
    articles().forEach(function (a) { from.set(a, [a.style.left, a.style.top, a.style.width, a.style.height]); });
    posts.classList.add("measuring");
    engine(candidates(), box.width, box.height, unit);
    // Back to where each post was, then let it move to its new place.
    var to = new Map();
    from.forEach(function (was, a) {
      to.set(a, [a.style.left, a.style.top, a.style.width, a.style.height]);
      if (was[0] && !a.classList.contains("fresh")) setBox(a, was);
    });
    void posts.offsetHeight;
    posts.classList.remove("measuring");
    to.forEach(function (box, a) { setBox(a, box); });
    requestAnimationFrame(function () {
      articles().forEach(function (a) { a.classList.remove("fresh"); });
      body.dataset.arranged = String(Date.now());
      // A card whose words grew after it was measured (a font arriving late): measure again,
      // a few times at most.
      var grew = articles().some(function (a) {
        return a.classList.contains("placed") && a.scrollHeight > a.clientHeight + 1;
      });
      if (grew && retries < MAX_RETRIES) {
        retries++;
        schedule();
      } else {
        retries = 0;
        delete body.dataset.layoutPending;
      }
    });
  }

  var MAX_RETRIES = 3;
  var retries = 0;
  var pending = false;
  function schedule() {
    body.dataset.layoutPending = "1";
    if (pending) return;
    pending = true;
    requestAnimationFrame(function () {
      pending = false;
      arrange();
    });
  }

  new MutationObserver(schedule).observe(posts, { childList: true });
  new MutationObserver(schedule).observe(body, { childList: true }); // the pin, swapped out of band
  new ResizeObserver(schedule).observe(posts);
  posts.addEventListener("load", schedule, true); // a photo without declared size has loaded
  if (document.fonts) {
    // An emoji subset arriving late makes its lines taller: measure again.
    document.fonts.ready.then(schedule);
    document.fonts.addEventListener("loadingdone", schedule);
  }

  window.EventwallLayout = { schedule: schedule, arrangeNow: arrange };
  arrange();
})();
