// The live page for remote followers: new posts slide in at the top when the reader is
// there; when they have scrolled down, new posts wait behind an "N new posts" button and
// the page never moves under them. "Load older" pages by the last post's cursor.
// Works with eventwall.js (resume ids, DOM bound), which registers its handlers first.
(function () {
  "use strict";
  var AT_TOP = 80; // px: closer to the top than this counts as "reading the newest"
  var known = new Set();
  var held = [];
  var savedY = 0;
  var baseMax = 0;
  var resetting = false;

  function posts() { return document.getElementById("posts"); }
  function stream() { return document.getElementById("stream"); }
  function atTop() { return window.scrollY <= AT_TOP; }

  function remember() {
    var list = posts();
    if (!list) return;
    for (var el = list.firstElementChild; el; el = el.nextElementSibling) known.add(el.id);
  }

  function button() { return document.getElementById("new-posts"); }

  function updateButton() {
    var b = button();
    if (!b) return;
    if (held.length === 0) {
      b.hidden = true;
      b.textContent = "";
      return;
    }
    b.textContent = held.length === 1 ? "1 new post" : held.length + " new posts";
    b.hidden = false;
  }

  function reveal(scrollUp) {
    if (held.length === 0) return;
    held.forEach(function (el) {
      el.hidden = false;
      el.classList.add("arrived");
    });
    held = [];
    updateButton();
    if (scrollUp) {
      window.scrollTo({ top: 0 });
      // Move keyboard and screen-reader focus to the newest post, not just the view.
      var newest = posts() && posts().firstElementChild;
      if (newest) {
        newest.setAttribute("tabindex", "-1");
        newest.focus({ preventScroll: true });
      }
    }
  }

  document.addEventListener("htmx:wsBeforeMessage", function (evt) {
    savedY = window.scrollY;
    resetting = /^\s*<div id="posts"/.test(String(evt.detail.message).slice(0, 200));
    var el = stream();
    var list = posts();
    if (!el || !list) return;
    if (!baseMax) baseMax = parseInt(el.dataset.maxPosts || "200", 10);
    // While the reader is further down, don't trim the bottom they may be reading.
    el.dataset.maxPosts = String(atTop() ? Math.max(baseMax, list.children.length - held.length) : list.children.length + 1000);
  });

  document.addEventListener("htmx:wsAfterMessage", function () {
    var list = posts();
    if (!list) return;
    if (resetting) {
      held = [];
      known.clear();
      remember();
      updateButton();
      return;
    }
    var away = savedY > AT_TOP;
    var fresh = [];
    for (var el = list.firstElementChild; el; el = el.nextElementSibling) {
      if (!known.has(el.id)) fresh.push(el);
    }
    held = held.filter(function (h) { return h.isConnected; });
    fresh.forEach(function (el) {
      known.add(el.id);
      if (away) {
        el.hidden = true;
        held.push(el);
      } else {
        el.classList.add("arrived");
      }
    });
    // New held posts go before older held ones: keep `held` in DOM order.
    held.sort(function (a, b) {
      return a.compareDocumentPosition(b) & Node.DOCUMENT_POSITION_FOLLOWING ? -1 : 1;
    });
    updateButton();
    if (away && window.scrollY !== savedY) window.scrollTo({ top: savedY });
  });

  // "Load older": ask for the page after the last post actually on screen.
  document.addEventListener("htmx:configRequest", function (evt) {
    var elt = evt.detail.elt;
    if (!elt || elt.id !== "load-older") return;
    var list = posts();
    var last = list && list.lastElementChild;
    var before = (last && last.dataset.cursor) || elt.dataset.before;
    evt.detail.parameters.before = before;
    if (list) list.setAttribute("aria-busy", "true");
  });

  document.addEventListener("htmx:afterSwap", function (evt) {
    var list = posts();
    if (!list || evt.detail.target !== list) return;
    // A post shown live may reappear in an older page (approved late): keep the first.
    var firstNew = null;
    var seen = new Set();
    Array.prototype.slice.call(list.children).forEach(function (el) {
      if (seen.has(el.id)) { el.remove(); return; }
      seen.add(el.id);
      if (!known.has(el.id)) {
        known.add(el.id);
        if (!firstNew) firstNew = el;
      }
    });
    list.removeAttribute("aria-busy");
    if (firstNew) {
      firstNew.setAttribute("tabindex", "-1");
      firstNew.focus({ preventScroll: true });
    }
  });

  // A failed "Load older" must not leave the list marked busy for screen readers.
  document.addEventListener("htmx:afterRequest", function (evt) {
    var list = posts();
    if (list && evt.detail.elt && evt.detail.elt.id === "load-older" && !evt.detail.successful) {
      list.removeAttribute("aria-busy");
    }
  });

  window.addEventListener("scroll", function () {
    if (held.length && atTop()) reveal(false);
  }, { passive: true });

  // The gallery's lightbox: a native <dialog> (Escape closes it), arrows step through.
  function lightbox() {
    var dialog = document.getElementById("lightbox");
    var thumbs = document.getElementById("thumbs");
    if (!dialog || !thumbs || typeof dialog.showModal !== "function") return;
    var links = Array.prototype.slice.call(thumbs.querySelectorAll("a.thumb"));
    var img = document.getElementById("lightbox-img");
    var caption = document.getElementById("lightbox-caption");
    var current = 0;
    var opener = null;
    function show(i) {
      current = (i + links.length) % links.length;
      var link = links[current];
      var thumb = link.querySelector("img");
      img.src = link.href;
      img.alt = thumb ? thumb.alt : "";
      ["width", "height"].forEach(function (name) {
        var value = thumb && thumb.getAttribute(name);
        if (value) img.setAttribute(name, value); else img.removeAttribute(name);
      });
      caption.textContent = link.dataset.caption || "";
    }
    links.forEach(function (link, i) {
      link.addEventListener("click", function (evt) {
        if (evt.ctrlKey || evt.metaKey || evt.shiftKey) return;
        evt.preventDefault();
        opener = link;
        show(i);
        dialog.showModal();
      });
    });
    dialog.addEventListener("click", function (evt) {
      var t = evt.target;
      if (t === dialog || t.hasAttribute("data-close")) dialog.close();
      else if (t.dataset.step) show(current + parseInt(t.dataset.step, 10));
    });
    dialog.addEventListener("keydown", function (evt) {
      if (evt.key === "ArrowRight") show(current + 1);
      else if (evt.key === "ArrowLeft") show(current - 1);
    });
    dialog.addEventListener("close", function () { if (opener) opener.focus(); });
  }

  document.addEventListener("DOMContentLoaded", function () {
    remember();
    var b = button();
    if (b) b.addEventListener("click", function () { reveal(true); });
    lightbox();
  });
})();
