// The moderation console: decisions without reloads, live queue and counts, keys and swipes.
(function () {
  "use strict";
  var body = document.body;
  var slug = body.dataset.slug;
  var tab = body.dataset.tab;
  var order = body.dataset.order;
  var csrfMeta = document.querySelector('meta[name="csrf-token"]');
  var csrf = csrfMeta ? csrfMeta.content : "";
  // Which states each tab shows: declared once, by the server, in the page.
  var tabData = document.getElementById("tab-states");
  var TAB_STATES = tabData ? JSON.parse(tabData.dataset.states) : {};
  if (!TAB_STATES[tab]) TAB_STATES[tab] = [];
  var queue = document.getElementById("queue");
  var toastTimer = null;

  function toast(message, bad) {
    var el = document.getElementById("toast");
    if (!el) return;
    el.textContent = message;
    el.className = "toast" + (bad ? " bad" : "");
    el.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(function () { el.hidden = true; }, 4000);
  }

  function cards() { return queue ? Array.prototype.slice.call(queue.querySelectorAll(".mod-card")) : []; }

  function updateEmpty() {
    var empty = document.getElementById("empty");
    if (empty) empty.hidden = cards().length > 0;
  }

  function prepare(card) {
    // Cards pushed live are rendered once for every moderator: add this session's token.
    card.querySelectorAll('input[name="csrf"]').forEach(function (input) { input.value = csrf; });
  }

  var countTimer = null, countAsked = 0, countShown = 0;
  function refreshCounts() {
    clearTimeout(countTimer);
    countTimer = setTimeout(function () {
      var asked = ++countAsked;
      fetch("/e/" + slug + "/moderate/counts", { credentials: "same-origin", headers: { accept: "application/json" } })
        .then(function (r) { if (r.status === 401) { window.location = "/login?next=" + encodeURIComponent(location.pathname); } return r.json(); })
        .then(function (counts) {
          // A slower, older answer must not overwrite a newer one.
          if (asked < countShown) return;
          countShown = asked;
          Object.keys(counts).forEach(function (name) {
            var el = document.querySelector('[data-count="' + name + '"]');
            if (el) el.textContent = counts[name];
          });
        })
        .catch(function () {});
    }, 150);
  }

  function removeCard(card) {
    var next = card.nextElementSibling || card.previousElementSibling;
    var wasFocused = card.classList.contains("focused");
    card.remove();
    if (wasFocused && next) focusCard(next);
    updateEmpty();
  }

  function focusCard(card) {
    cards().forEach(function (c) { c.classList.remove("focused"); });
    if (!card) return;
    card.classList.add("focused");
    card.focus({ preventScroll: true });
    card.scrollIntoView({ block: "nearest" });
  }

  function post(form, submitter) {
    var data = new FormData(form);
    if (submitter && submitter.name) data.set(submitter.name, submitter.value);
    data.set("csrf", csrf);
    form.classList.add("busy");
    // getAttribute: form.action would be the buttons named "action".
    return fetch(form.getAttribute("action"), {
      method: "POST",
      body: data,
      credentials: "same-origin",
      headers: { accept: "application/json", "x-csrf-token": csrf },
    }).then(function (response) {
      form.classList.remove("busy");
      if (response.status === 401) {
        window.location = "/login?next=" + encodeURIComponent(location.pathname);
        return null;
      }
      if (response.status >= 500) setStatus("offline", "server unreachable");
      return response.json().catch(function () { return { ok: false, message: "Not saved (error " + response.status + ")" }; });
    }, function () {
      // No answer at all: the decision never reached the server.
      form.classList.remove("busy");
      setStatus("offline", "server unreachable");
      return { ok: false, message: "Not saved: the server is unreachable. Try again in a moment." };
    });
  }

  function decide(form, submitter) {
    var card = form.closest(".mod-card");
    post(form, submitter).then(function (result) {
      if (!result) return;
      toast(result.message, !result.ok);
      if (card && result.state && TAB_STATES[tab].indexOf(result.state) < 0) removeCard(card);
      refreshCounts();
    });
  }

  document.addEventListener("submit", function (evt) {
    var form = evt.target;
    if (form.classList.contains("mod-actions")) {
      evt.preventDefault();
      decide(form, evt.submitter);
    } else if (form.classList.contains("js-action")) {
      evt.preventDefault();
      post(form, evt.submitter).then(function (result) {
        if (!result) return;
        toast(result.message, !result.ok);
        if (result.ok && !form.classList.contains("announce")) setTimeout(function () { location.reload(); }, 600);
      });
    }
  });

  // Sensitive photos stay blurred until tapped.
  document.addEventListener("click", function (evt) {
    var reveal = evt.target.closest(".reveal");
    if (reveal) {
      reveal.closest(".mod-photo").classList.add("revealed");
      reveal.hidden = true;
    }
    var card = evt.target.closest(".mod-card");
    if (card && !evt.target.closest("button")) focusCard(card);
  });

  // Keyboard: j/k move; the other keys are each button's data-key (from the actions registry).
  document.addEventListener("keydown", function (evt) {
    if (evt.ctrlKey || evt.metaKey || evt.altKey) return;
    if (evt.target.closest && evt.target.closest("input, textarea, select")) return;
    var list = cards();
    if (!list.length) return;
    var current = queue.querySelector(".mod-card.focused");
    var index = current ? list.indexOf(current) : -1;
    if (evt.key === "j") { focusCard(list[Math.min(list.length - 1, index + 1)]); evt.preventDefault(); return; }
    if (evt.key === "k") { focusCard(list[Math.max(0, index - 1)]); evt.preventDefault(); return; }
    if (!current) return;
    var button = current.querySelector('button[data-key="' + evt.key + '"]');
    if (button) {
      evt.preventDefault();
      decide(button.form, button);
    }
  });

  // Swipe right for the button keyed "a" (approve), left for "r" (reject).
  var touch = null;
  document.addEventListener("touchstart", function (evt) {
    var card = evt.target.closest(".mod-card");
    if (card && evt.touches.length === 1) touch = { card: card, x: evt.touches[0].clientX, y: evt.touches[0].clientY };
  }, { passive: true });
  document.addEventListener("touchend", function (evt) {
    if (!touch) return;
    var t = evt.changedTouches[0];
    var dx = t.clientX - touch.x, dy = t.clientY - touch.y;
    var card = touch.card;
    touch = null;
    if (Math.abs(dx) < 90 || Math.abs(dy) > 60) return;
    var button = card.querySelector('button[data-key="' + (dx > 0 ? "a" : "r") + '"]');
    if (button) decide(button.form, button);
  }, { passive: true });

  // Live: every change of the moderators' log.
  function setStatus(state, title) {
    var status = document.getElementById("status");
    if (status) { status.className = "status " + state; status.title = title || state; }
    body.dataset.connection = state;
  }

  var auditTimer = null;
  function refreshAudit() {
    // The audit tab re-reads its list (rendered by the server) after each change.
    clearTimeout(auditTimer);
    auditTimer = setTimeout(function () {
      fetch(location.href, { credentials: "same-origin" })
        .then(function (r) { return r.text(); })
        .then(function (html) {
          var fresh = new DOMParser().parseFromString(html, "text/html").getElementById("audit");
          var list = document.getElementById("audit");
          if (fresh && list) list.replaceWith(fresh);
          document.querySelectorAll("#audit time[data-ms]").forEach(localTime);
        })
        .catch(function () {});
    }, 300);
  }

  function localTime(el) {
    el.textContent = new Date(parseInt(el.dataset.ms, 10)).toLocaleTimeString();
  }

  function apply(change) {
    if (change.type === "reload") { location.reload(); return; }
    if (change.id) body.dataset.since = change.id;
    refreshCounts();
    if (tab === "audit") refreshAudit();
    if (!queue) return;
    var existing = document.getElementById("mod-" + change.dom_id);
    var belongs = TAB_STATES[tab].indexOf(change.state) >= 0;
    if (change.type === "delete" || !belongs) {
      if (existing) {
        // Another moderator's decision is worth a word; one's own is not news to oneself.
        if (change.type === "state" && change.actor && change.actor !== body.dataset.me) {
          toast("Post " + change.state + " by " + change.actor + ".");
        }
        removeCard(existing);
      }
      return;
    }
    if (!change.html) return;
    var holder = document.createElement("div");
    holder.innerHTML = change.html;
    var card = holder.firstElementChild;
    prepare(card);
    if (existing) {
      if (existing.classList.contains("focused")) card.classList.add("focused");
      existing.replaceWith(card);
    } else if (order === "newest") {
      queue.insertBefore(card, queue.firstElementChild);
    } else {
      queue.appendChild(card);
    }
    updateEmpty();
  }

  var delay = 500;
  function connect() {
    var url = new URL("/e/" + slug + "/moderate/ws", location.href);
    url.protocol = location.protocol === "https:" ? "wss:" : "ws:";
    if (body.dataset.since) url.searchParams.set("since", body.dataset.since);
    setStatus("connecting");
    var socket = new WebSocket(url.toString());
    socket.onopen = function () { setStatus("online"); delay = 500; };
    socket.onmessage = function (evt) {
      try { apply(JSON.parse(evt.data)); } catch (e) { /* a malformed message must not stop the console */ }
    };
    socket.onclose = function (evt) {
      // 1013: the server is up but can't reach its database; no close frame: it is down.
      setStatus("offline", evt.code === 1013 || evt.code === 1006 ? "server unreachable" : "offline");
      if (evt.code === 4401) { window.location = "/login?next=" + encodeURIComponent(location.pathname); return; }
      setTimeout(connect, delay);
      delay = Math.min(delay * 2, 10000);
    };
  }

  document.querySelectorAll("time[data-ms]").forEach(localTime);
  if (slug && tab) connect();
  var first = cards()[0];
  if (first && window.matchMedia("(hover: hover)").matches) first.classList.add("focused");
})();
