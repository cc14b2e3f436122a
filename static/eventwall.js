// Eventwall live screens: resume where we left off, keep the DOM bounded, show the link state.
// Loaded in <head> after htmx and its ws extension, before htmx processes the body.
(function () {
  "use strict";
  if (!window.htmx) return;
  var CHANGE_ID = /^\s*<[^>]*\sdata-change-id="(\d+-\d+)"/;

  function stream() { return document.getElementById("stream"); }

  // The newest change id this page has applied, kept on #stream. The first connect resumes
  // from the id the page was rendered at, so nothing published between render and connect
  // is missed; a reconnect resumes from the last message received.
  htmx.createWebSocket = function (url) {
    var target = new URL(url, window.location.href);
    var el = stream();
    if (el && el.dataset.since) target.searchParams.set("since", el.dataset.since);
    var socket = new WebSocket(target.toString());
    socket.binaryType = htmx.config.wsBinaryType;
    return socket;
  };

  document.addEventListener("htmx:wsBeforeMessage", function (evt) {
    var match = CHANGE_ID.exec(String(evt.detail.message).slice(0, 2000));
    var el = stream();
    if (match && el) el.dataset.since = match[1];
  });

  document.addEventListener("htmx:wsAfterMessage", function () {
    var el = stream();
    var posts = document.getElementById("posts");
    if (!el || !posts) return;
    var max = parseInt(el.dataset.maxPosts || "100", 10);
    while (posts.children.length > max) posts.lastElementChild.remove();
  });

  function setStatus(state) {
    var status = document.getElementById("status");
    if (status) {
      status.className = "status " + state;
      status.title = state;
    }
    document.body.dataset.connection = state;
  }
  document.addEventListener("htmx:wsConnecting", function () { setStatus("connecting"); });
  document.addEventListener("htmx:wsOpen", function () { setStatus("online"); });
  document.addEventListener("htmx:wsClose", function () { setStatus("offline"); });
})();
